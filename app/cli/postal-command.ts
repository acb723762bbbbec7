/**
 * @module app/cli/postal-command
 * `vpm postal init|approve-vendor|start|alerts`: the postal authority (postal/), the outside
 * witness every data center reports its indicia to. Its own directory, keys and database: in
 * production another organisation runs it on another host.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type * as Postal from '../../postal/index';
import { CliError, EXIT } from '../../client/cli/errors';
import { io } from '../../client/cli/io';

/** The postal authority's code, loaded only by its commands (`vpm --help` stays quick). */
const postalCode = (): Promise<typeof Postal> => import('../../postal/index');

const out = (line: string) => io().stdout.write(`${line}\n`);

async function start(dir: string, host: string, port: number): Promise<void> {
  const running = await (
    await postalCode()
  ).startPostal({
    dataDir: dir,
    host,
    port,
    log: (event, fields) =>
      io().stderr.write(`${new Date().toISOString()} ${event} ${JSON.stringify(fields)}\n`),
  });
  out(`Postal authority listening at ${running.url}`);
  out(`  CA certificate: ${running.caPath}`);
  out(
    `  Data centers: vpm datacenter start --data DIR --postal ${running.url} --postal-ca ${running.caPath}`,
  );
  await new Promise<void>((done) => {
    const stop = (signal: string) => {
      out(`${signal}: stopping the postal authority…`);
      void running.close().then(done, done);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  out('Postal authority stopped.');
}

const refused = (error: unknown): never => {
  throw new CliError(error instanceof Error ? error.message : String(error), EXIT.refused);
};

export function registerPostalCommands(program: Command): void {
  const postal = program
    .command('postal')
    .description('run the postal authority: the outside witness of every indicium dispensed');
  const dataOption = (c: Command) => c.requiredOption('--data <dir>', 'its own data directory');
  dataOption(
    postal.command('init').description('keys, TLS CA (PDIR/tls/ca.pem) and database'),
  ).action(async (opts: { data: string }) => {
    const dir = resolve(opts.data);
    const { caPath } = await (await postalCode()).initPostal(dir).catch(refused);
    out(`Postal authority initialised in ${dir}.`);
    out(`  CA certificate for data centers (--postal-ca): ${caPath}`);
    out(`  Next: vpm postal approve-vendor --data ${dir} --vendor-ca DIR/boxes/vendor-ca.pem`);
  });
  dataOption(
    postal
      .command('approve-vendor')
      .description("approve a vendor's CA: its meter boxes' reports are then accepted"),
  )
    .requiredOption(
      '--vendor-ca <file>',
      "the vendor CA certificate (a data center's DIR/boxes/vendor-ca.pem)",
    )
    .action(async (opts: { data: string; vendorCa: string }) => {
      const pem = await readFile(resolve(opts.vendorCa), 'utf8').catch(() => {
        throw new CliError(`approve-vendor: cannot read ${opts.vendorCa}`, EXIT.usage);
      });
      const r = await (await postalCode()).approveVendor(resolve(opts.data), pem).catch(refused);
      out(`${r.added ? 'Approved' : 'Already approved'}: ${r.subject} (SHA-256 ${r.fingerprint})`);
    });
  dataOption(postal.command('start').description('start its HTTPS server'))
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option('--port <port>', 'port (0 = any free port)', '8444')
    .action(async (opts: { data: string; host: string; port: string }) =>
      start(resolve(opts.data), opts.host, Number(opts.port)),
    );
  dataOption(
    postal.command('alerts').description('list its fraud alerts: time, box, meter, reason'),
  ).action(async (opts: { data: string }) => {
    const { postalAlerts } = await postalCode();
    let alerts;
    try {
      alerts = postalAlerts(resolve(opts.data));
    } catch (error) {
      throw new CliError(error instanceof Error ? error.message : String(error), EXIT.usage);
    }
    if (alerts.length === 0) out('No fraud alerts.');
    for (const a of alerts)
      out(`${a.createdAt}  ${a.boxId ?? '-'}  ${a.meterSerial ?? '-'}  ${a.code}: ${a.reason}`);
  });
}
