/**
 * @module cli/datacenter-command
 * `vpm datacenter init|start|alerts|run`: the data center (server-mock/) from the command line.
 */
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import Database from 'better-sqlite3';
import { initDataCenter, isInitialised, startDataCenter } from '../../server-mock/index';
import { CliError, EXIT } from './errors';

const out = (line: string) => process.stdout.write(`${line}\n`);

async function init(dataDir: string, demo: boolean): Promise<void> {
  out(`Key ceremony in ${dataDir}: creating box keys, vendor CA, TLS certificate and database…`);
  const result = await initDataCenter(dataDir, { demo });
  out(`Data center initialised${demo ? ' (demo: every meter is a demo meter)' : ''}.`);
  out(`  TLS CA for clients: ${result.caPath}`);
  out(`  Administrator token (shown once, keep it safe): ${result.adminToken}`);
}

async function start(
  dataDir: string,
  host: string,
  port: number,
  authRateLimit: number,
): Promise<void> {
  const running = await startDataCenter({
    dataDir,
    host,
    port,
    authRateLimit,
    log: (event, fields) =>
      process.stderr.write(`${new Date().toISOString()} ${event} ${JSON.stringify(fields)}\n`),
  });
  out(`Data center listening at ${running.url}`);
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

function alerts(dataDir: string): void {
  const file = join(dataDir, 'datacenter.db');
  if (!isInitialised(dataDir))
    throw new CliError(
      `no data center in ${dataDir}; run vpm datacenter init --data ${dataDir}`,
      EXIT.usage,
    );
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const rows = db
      .prepare('SELECT created_at, meter_serial, code, reason FROM fraud_alerts ORDER BY id')
      .all() as {
      created_at: string;
      meter_serial: string | null;
      code: string;
      reason: string;
    }[];
    if (rows.length === 0) out('No fraud alerts.');
    for (const r of rows) out(`${r.created_at}  ${r.meter_serial ?? '-'}  ${r.code}: ${r.reason}`);
  } finally {
    db.close();
  }
}

export function registerDatacenterCommands(program: Command): void {
  const dc = program
    .command('datacenter')
    .description('run the data center (meters, boxes, HTTPS API)');
  const dataOption = (c: Command) => c.requiredOption('--data <dir>', 'data directory');
  dataOption(
    dc
      .command('init')
      .description('key ceremony: boxes, vendor CA, TLS certificate, database, admin token'),
  )
    .option('--demo', 'every meter is a demo meter (SAMPLE indicia)')
    .action(async (opts: { data: string; demo?: boolean }) =>
      init(resolve(opts.data), opts.demo ?? false),
    );
  const withListen = (c: Command) =>
    c
      .option('--host <host>', 'address to listen on', '127.0.0.1')
      .option('--port <port>', 'port (0 = any free port)', '8443')
      .option('--auth-rate-limit <n>', 'sign-on and sign-up attempts per minute per address', '30');
  withListen(
    dataOption(dc.command('start').description('start the boxes and the HTTPS server')),
  ).action(async (opts: { data: string; host: string; port: string; authRateLimit: string }) =>
    start(resolve(opts.data), opts.host, Number(opts.port), Number(opts.authRateLimit)),
  );
  dataOption(dc.command('alerts').description('list fraud alerts: time, meter, reason')).action(
    (opts: { data: string }) => alerts(resolve(opts.data)),
  );
  withListen(dataOption(dc.command('run').description('init on first use, then start'))).action(
    async (opts: { data: string; host: string; port: string; authRateLimit: string }) => {
      const dir = resolve(opts.data);
      if (!isInitialised(dir)) await init(dir, false);
      await start(dir, opts.host, Number(opts.port), Number(opts.authRateLimit));
    },
  );
}
