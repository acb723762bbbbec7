/**
 * @module app/cli/datacenter-command
 * `vpm datacenter init|start|alerts|reinstate|run|scanner-token|rates`: the data center (server-mock/)
 * from the command line.
 * `init` runs the key ceremony and writes one share per custodian outside the data directory;
 * `start` (and `reinstate`, which runs the boxes of a stopped data center) needs a quorum of
 * those shares (`--share FILE` …, or `--shares-stdin`). `run` is for development only: it keeps
 * every share of its data center together in one file under ./var.
 */
import { existsSync, readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { Option, type Command } from 'commander';
import type * as DataCenter from '../../server-mock/index';
import type { InitOptions, PostalLink } from '../../server-mock/index';
import { CliError, EXIT } from '../../client/cli/errors';
import { io } from '../../client/cli/io';

/** The data center's code, loaded only by the commands that run it (`vpm --help` stays quick). */
const dataCenter = (): Promise<typeof DataCenter> => import('../../server-mock/index');

const out = (line: string) => io().stdout.write(`${line}\n`);

interface ShareInput {
  source: string;
  text: string;
}

async function init(dataDir: string, options: InitOptions): Promise<{ shares: string[] }> {
  out(`Key ceremony in ${dataDir}: creating box keys, vendor CA, TLS certificate and database…`);
  const result = await (await dataCenter()).initDataCenter(dataDir, options);
  out(
    `Data center ${result.dataCenterId} initialised${options.demo ? ' (demo: every meter is a demo meter)' : ''}.`,
  );
  out(`  TLS CA for clients: ${result.caPath}`);
  out(`  Administrator token (shown once, keep it safe): ${result.adminToken}`);
  if (result.shareFiles.length > 0) {
    const quorum = options.quorum ?? 2;
    out(
      `  Custodian shares: any ${quorum} of these ${result.shareFiles.length} start the data center; the data directory alone cannot:`,
    );
    for (const [i, file] of result.shareFiles.entries())
      out(`    ${file}  check value ${result.checkValues[i] ?? ''}`);
    out(
      '  Give each file to its custodian, to keep offline and apart from the data directory and its backups.',
    );
    out('  Each custodian notes their check value now (shown only once) to recognise their share.');
  }
  return { shares: result.shares };
}

/** Reads share lines from files (--share) and/or stdin (--shares-stdin). */
async function readShares(files: string[], fromStdin: boolean): Promise<ShareInput[]> {
  const shares: ShareInput[] = [];
  const add = (source: string, text: string) => {
    const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '');
    for (const [i, line] of lines.entries())
      shares.push({ source: lines.length > 1 ? `${source} line ${i + 1}` : source, text: line });
  };
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (error) {
      throw new CliError(
        `cannot read the share file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}`,
        EXIT.usage,
      );
    }
    add(basename(file), text);
  }
  if (fromStdin) {
    let text = '';
    io().stdin.setEncoding('utf8');
    for await (const chunk of io().stdin) text += chunk as string;
    add('stdin', text);
  }
  return shares;
}

interface StartFlags {
  data: string;
  boxes?: string;
  host: string;
  port: string;
  authRateLimit: string;
  postal?: string;
  postalCa?: string;
  postalWindowPieces?: string;
  postalWindowSeconds?: string;
  database?: string;
  mailerId?: string;
  mailingWindowDays?: string;
}

const DATABASE_FLAG = '--database <url>';
const DATABASE_HELP =
  'keep the records in PostgreSQL: postgres://USER@HOST:PORT/DATABASE (password in PGPASSWORD or ~/.pgpass); the same at init and every start (default: SQLite in the data directory)';

/** The postal authority link from the flags; both or neither of --postal and --postal-ca. */
function postalLink(flags: StartFlags): PostalLink | undefined {
  if (!flags.postal && !flags.postalCa) return undefined;
  if (!flags.postal || !flags.postalCa)
    throw new CliError('datacenter start: give both --postal URL and --postal-ca FILE', EXIT.usage);
  let caPem: string;
  try {
    caPem = readFileSync(resolve(flags.postalCa), 'utf8');
  } catch {
    throw new CliError(
      `datacenter start: cannot read the postal authority's CA ${flags.postalCa} (PDIR/tls/ca.pem of vpm postal init)`,
      EXIT.usage,
    );
  }
  const count = (text: string | undefined, what: string): number | undefined => {
    if (text === undefined) return undefined;
    const n = Number(text);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new CliError(`datacenter start: ${what} must be a positive whole number`, EXIT.usage);
    return n;
  };
  const seconds = count(flags.postalWindowSeconds, '--postal-window-seconds');
  return {
    url: flags.postal,
    caPem,
    ...(flags.postalWindowPieces
      ? { windowPieces: count(flags.postalWindowPieces, '--postal-window-pieces') }
      : {}),
    ...(seconds ? { windowMs: seconds * 1000 } : {}),
  };
}

function mailingWindow(text: string | undefined): number {
  const n = Number(text ?? '7');
  if (!Number.isSafeInteger(n) || n < 0 || n > 60)
    throw new CliError('datacenter start: --mailing-window-days must be 0 to 60', EXIT.usage);
  return n;
}

const ROLLBACK_OFF = [
  '************************************************************************************',
  '* WARNING: rollback protection is OFF: this data center reports to no postal        *',
  '* authority. A restored copy of its data directory (database and boxes together)    *',
  '* would dispense postage again unnoticed. Fine for development; in production start *',
  '* it with --postal URL --postal-ca FILE.                                            *',
  '************************************************************************************',
];

async function start(dataDir: string, flags: StartFlags, shares: ShareInput[]): Promise<void> {
  if (shares.length === 0)
    throw new CliError(
      `no custodian shares given: start the data center with a quorum of shares, e.g. vpm datacenter start --data ${dataDir} --share custodian-1.share --share custodian-2.share (or --shares-stdin, one share per line)`,
      EXIT.usage,
    );
  const postal = postalLink(flags);
  if (!postal) for (const line of ROLLBACK_OFF) io().stderr.write(`${line}\n`);
  const running = await (
    await dataCenter()
  ).startDataCenter({
    dataDir,
    host: flags.host,
    port: Number(flags.port),
    authRateLimit: Number(flags.authRateLimit),
    shares,
    ...(flags.boxes ? { boxes: resolve(flags.boxes) } : {}),
    ...(flags.database !== undefined ? { database: flags.database } : {}),
    ...(postal ? { postal } : {}),
    ...(flags.mailerId ? { uspsMailerId: flags.mailerId } : {}),
    mailingWindowDays: mailingWindow(flags.mailingWindowDays),
    log: (event, fields) =>
      io().stderr.write(`${new Date().toISOString()} ${event} ${JSON.stringify(fields)}\n`),
  });
  shares.length = 0; // the share texts are of no further use here
  out(
    `Data center listening at ${running.url}${flags.boxes ? ` (boxes: the pool at ${flags.boxes})` : ''}`,
  );
  if (running.witness)
    out(`  Postal authority: ${postal?.url} (meter box ${running.witness.state})`);
  else out('  Rollback protection: OFF (no --postal)');
  out(`  CA certificate: ${running.caPath}`);
  out(`  Clients: vpm login --server ${running.url} --ca ${running.caPath} --user NAME`);
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      out(`${signal}: stopping the data center…`);
      void running.close().then(done, done);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  out('Data center stopped.');
}

/** `boxes start`: the box pool that several nodes share; runs until SIGINT/SIGTERM. */
async function startPool(
  dataDir: string,
  socketDir: string,
  shards: number,
  shares: ShareInput[],
): Promise<void> {
  if (shares.length === 0)
    throw new CliError(
      `no custodian shares given: start the box pool with a quorum of shares, e.g. vpm datacenter boxes start --data ${dataDir} --boxes ${socketDir} --share custodian-1.share --share custodian-2.share (or --shares-stdin)`,
      EXIT.usage,
    );
  const pool = await (
    await dataCenter()
  ).startBoxPool({
    dataDir,
    socketDir,
    shards,
    shares,
    log: (line) => io().stderr.write(`${new Date().toISOString()} ${line}\n`),
  });
  shares.length = 0;
  out(
    `Box pool serving at ${socketDir}: the steel box and ${pool.shards} meter shard${pool.shards === 1 ? '' : 's'}${pool.handedOver ? ` (${pool.handedOver} meters handed over to new shards)` : ''}`,
  );
  out(
    `  Nodes: vpm datacenter start --data ${dataDir} --boxes ${socketDir} --port P --share FILE …`,
  );
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      out(`${signal}: stopping the box pool…`);
      void pool.close().then(done, done);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  out('Box pool stopped.');
}

/** `run` (development): the single file that keeps all of a dev data center's shares. */
const devSharesFile = (dataDir: string): string =>
  join(dirname(dataDir), `${basename(dataDir)}.dev-shares`);

async function alerts(dataDir: string, database: string | undefined): Promise<void> {
  if (!(await dataCenter()).isInitialised(dataDir))
    throw new CliError(
      `no data center in ${dataDir}; run vpm datacenter init --data ${dataDir}`,
      EXIT.usage,
    );
  const rows = await (await dataCenter()).listAlerts(dataDir, { database });
  if (rows.length === 0) out('No fraud alerts.');
  for (const r of rows) out(`${r.createdAt}  ${r.meterSerial ?? '-'}  ${r.code}: ${r.reason}`);
}

async function reinstate(
  dataDir: string,
  serial: string,
  reason: string,
  shares: ShareInput[],
  database?: string,
): Promise<void> {
  if (!/^[A-Z0-9]{12}$/.test(serial))
    throw new CliError(
      `meter serial ${serial}: must be 12 letters and digits, e.g. VPM000000001`,
      EXIT.usage,
    );
  if (reason.trim() === '')
    throw new CliError('reinstate: --reason must say why the meter may dispense again', EXIT.usage);
  if (shares.length === 0)
    throw new CliError(
      `no custodian shares given: reinstating runs the meter box, which needs a quorum, e.g. vpm datacenter reinstate --data ${dataDir} ${serial} --reason TEXT --share custodian-1.share --share custodian-2.share`,
      EXIT.usage,
    );
  let lifted;
  try {
    lifted = await (
      await dataCenter()
    ).reinstateMeter(dataDir, serial, reason.trim(), shares, {
      ...(database !== undefined ? { database } : {}),
    });
  } catch (error) {
    throw new CliError(
      `reinstate: ${error instanceof Error ? error.message : String(error)}`,
      EXIT.refused,
    );
  }
  if (!lifted) {
    out(`Meter ${serial} is not suspended; nothing changed.`);
    return;
  }
  out(`Meter ${serial} reinstated (suspended ${lifted.at} for ${lifted.code}: ${lifted.reason}).`);
  out(`  Recorded in the alerts with the reason: ${reason.trim()}`);
}

export function registerDatacenterCommands(program: Command): void {
  const dc = program
    .command('datacenter')
    .description('run the data center (meters, boxes, HTTPS API)');
  const dataOption = (c: Command) => c.requiredOption('--data <dir>', 'data directory');
  const whole = (name: string) => (value: string) => {
    const n = Number(value);
    if (!Number.isInteger(n))
      throw new CliError(`${name}: ${value} is not a whole number`, EXIT.usage);
    return n;
  };
  dataOption(
    dc
      .command('init')
      .description(
        'key ceremony: boxes, vendor CA, TLS certificate, database, admin token, custodian shares',
      ),
  )
    .requiredOption(
      '--share-out <dir>',
      'folder for custodian-1.share … custodian-N.share (outside the data directory)',
    )
    .option('--custodians <n>', 'number of custodians, one share each', whole('--custodians'), 3)
    .option('--quorum <k>', 'shares needed to start the data center', whole('--quorum'), 2)
    .option('--demo', 'every meter is a demo meter (SAMPLE indicia)')
    .option(DATABASE_FLAG, DATABASE_HELP)
    .action(
      async (opts: {
        data: string;
        shareOut: string;
        custodians: number;
        quorum: number;
        demo?: boolean;
        database?: string;
      }) => {
        await init(resolve(opts.data), {
          demo: opts.demo ?? false,
          custodians: opts.custodians,
          quorum: opts.quorum,
          shareOut: resolve(opts.shareOut),
          ...(opts.database !== undefined ? { database: opts.database } : {}),
        });
      },
    );
  const withListen = (c: Command) =>
    c
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <port>', 'port (0 = any free port)', '8443')
      .option('--auth-rate-limit <n>', 'sign-on and sign-up attempts per minute per address', '30')
      .option(
        '--postal <url>',
        'the postal authority to report every indicium to (rollback protection)',
      )
      .option('--postal-ca <file>', "the postal authority's CA certificate (its PDIR/tls/ca.pem)")
      .option(DATABASE_FLAG, DATABASE_HELP)
      .option(
        '--mailer-id <mid>',
        "the vendor's USPS Mailer ID for tracking numbers (6 or 9 digits)",
      )
      .option('--mailing-window-days <n>', 'days after today a mailing date may be', '7')
      .addOption(
        new Option(
          '--postal-window-pieces <n>',
          'pieces the meter box may run ahead of its last postal receipt (max 1000)',
        ).hideHelp(),
      )
      .addOption(
        new Option(
          '--postal-window-seconds <s>',
          'seconds the meter box may run ahead of its last postal receipt (max 300)',
        ).hideHelp(),
      );
  withListen(
    dataOption(
      dc
        .command('start')
        .description('unlock the boxes with a quorum of custodian shares, start the HTTPS server'),
    ),
  )
    .option(
      '--share <file>',
      "a custodian's share file (repeat for each custodian present)",
      (file: string, files: string[]) => [...files, file],
      [] as string[],
    )
    .option('--shares-stdin', 'read the shares from standard input, one per line')
    .option(
      '--boxes <socketdir>',
      'reach the steel box and the meter shards of a box pool there (vpm datacenter boxes start) instead of running them',
    )
    .action(async (opts: StartFlags & { share: string[]; sharesStdin?: boolean }) =>
      start(resolve(opts.data), opts, await readShares(opts.share, opts.sharesStdin ?? false)),
    );
  dataOption(
    dc
      .command('boxes')
      .description('the box pool that several API nodes share')
      .command('start')
      .description(
        'unlock the steel box and N meter shards with a quorum of shares; each listens on SOCKETDIR',
      ),
  )
    .requiredOption('--boxes <socketdir>', "directory for the boxes' sockets (mode 0700)")
    .option(
      '--shards <n>',
      'meter-box shards (more than before: meters are handed over)',
      whole('--shards'),
      1,
    )
    .option(
      '--share <file>',
      "a custodian's share file (repeat for each custodian present)",
      (file: string, files: string[]) => [...files, file],
      [] as string[],
    )
    .option('--shares-stdin', 'read the shares from standard input, one per line')
    .action(
      async (opts: {
        data: string;
        boxes: string;
        shards: number;
        share: string[];
        sharesStdin?: boolean;
      }) =>
        startPool(
          resolve(opts.data),
          resolve(opts.boxes),
          opts.shards,
          await readShares(opts.share, opts.sharesStdin ?? false),
        ),
    );
  dataOption(
    dc
      .command('scanner-token')
      .argument('<name>', 'the acceptance scanner, e.g. a post office')
      .description('a credential for a postal acceptance scanner (POST /v1/scans), shown once'),
  )
    .option(DATABASE_FLAG, DATABASE_HELP)
    .action(async (name: string, opts: { data: string; database?: string }) => {
      const dir = resolve(opts.data);
      if (!(await dataCenter()).isInitialised(dir))
        throw new CliError(
          `no data center in ${dir}; run vpm datacenter init --data ${dir}`,
          EXIT.usage,
        );
      const token = await (
        await dataCenter()
      ).createScannerToken(dir, name, {
        database: opts.database,
      });
      out(`Scanner credential for "${name}" (shown once, keep it safe): ${token}`);
    });
  const rates = dc
    .command('rates')
    .description(
      'the rate table the data center serves, signed by its transaction box (GET /v1/rates)',
    );
  dataOption(
    rates
      .command('import')
      .argument('<file>', 'a rate table (JSON, format vpm-rates-1: see docs/rates.md)')
      .description(
        'load a new rate table: checked in full first; a bad file is refused and changes nothing',
      ),
  ).action(async (file: string, opts: { data: string }) => {
    const dir = resolve(opts.data);
    const center = await dataCenter();
    if (!center.isInitialised(dir))
      throw new CliError(
        `no data center in ${dir}; run vpm datacenter init --data ${dir}`,
        EXIT.usage,
      );
    const text = await readFile(resolve(file), 'utf8').catch(() => {
      throw new CliError(`rates import: cannot read ${file}`, EXIT.usage);
    });
    const table = await center.importRateTable(dir, text);
    out(
      `Rate table ${table.version} (effective ${table.effectiveDate}) imported: ${table.services.length} service(s), source: ${table.source}`,
    );
    out('The data center serves it from its next request; clients fetch it and cache it.');
  });
  dataOption(
    rates.command('show').description('the rate table in force: version, date, source'),
  ).action(async (opts: { data: string }) => {
    const { table, from } = await (await dataCenter()).currentRateTable(resolve(opts.data));
    out(
      `Rate table ${table.version}, effective ${table.effectiveDate} (${from}); source: ${table.source}`,
    );
    for (const s of table.services)
      out(
        `  ${s.mailClass}: ${s.steps.length} weight step(s)${s.zoned ? ' by zone' : ''}; ${s.source}`,
      );
  });
  dataOption(dc.command('alerts').description('list fraud alerts: time, meter, reason'))
    .option(DATABASE_FLAG, DATABASE_HELP)
    .action((opts: { data: string; database?: string }) =>
      alerts(resolve(opts.data), opts.database),
    );
  const withShares = (c: Command) =>
    c
      .option(
        '--share <file>',
        "a custodian's share file (repeat for each custodian present)",
        (file: string, files: string[]) => [...files, file],
        [] as string[],
      )
      .option('--shares-stdin', 'read the shares from standard input, one per line');
  withShares(
    dataOption(
      dc
        .command('reinstate')
        .description(
          'lift the suspension a fraud alert put on a meter (data center stopped; a quorum of shares)',
        )
        .argument('<serial>', 'meter serial, e.g. VPM000000001')
        .requiredOption('--reason <text>', 'why the meter may dispense again (recorded)'),
    ),
  )
    .option(DATABASE_FLAG, DATABASE_HELP)
    .action(
      async (
        serial: string,
        opts: {
          data: string;
          reason: string;
          share: string[];
          sharesStdin?: boolean;
          database?: string;
        },
      ) =>
        reinstate(
          resolve(opts.data),
          serial,
          opts.reason,
          await readShares(opts.share, opts.sharesStdin ?? false),
          opts.database,
        ),
    );
  withListen(
    dataOption(
      dc
        .command('run')
        .description(
          'development only: init on first use (all shares kept in one file beside the data), then start',
        ),
    ),
  ).action(async (opts: StartFlags) => {
    const dir = resolve(opts.data);
    const sharesFile = devSharesFile(dir);
    out(
      `DEVELOPMENT ONLY: every custodian share of this data center is kept together in ${sharesFile}, so that file and ${dir} together can mint postage. For real use: vpm datacenter init --share-out DIR, then start with --share FILE … of the custodians.`,
    );
    if (!(await dataCenter()).isInitialised(dir)) {
      const { shares } = await init(dir, {
        demo: false,
        ...(opts.database !== undefined ? { database: opts.database } : {}),
      });
      await writeFile(sharesFile, shares.map((share) => `${share}\n`).join(''), { mode: 0o600 });
    } else if (!existsSync(sharesFile)) {
      throw new CliError(
        `${dir} is initialised but ${sharesFile} is missing: start it with vpm datacenter start --data ${dir} --share FILE …`,
      );
    }
    await start(dir, opts, await readShares([sharesFile], false));
  });
}
