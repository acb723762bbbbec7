/**
 * @module app/cli/bench-command
 * `vpm bench`: the benchmark and fault campaigns (bench/), loaded only when the command runs,
 * with the client parts they drive handed in (app/bench-client.ts): bench/ and client/ import
 * nothing of each other.
 */
import type { Command } from 'commander';
import { CliError, EXIT } from '../../client/cli/errors';
import { io } from '../../client/cli/io';

export function registerBenchCommand(program: Command): void {
  program
    .command('bench')
    .description(
      'benchmarks: data center throughput and latency beside raw ECDSA and SQLite rates, client batch, barcodes',
    )
    .option('--quick', 'a shorter run (within two minutes)')
    .option('--json', 'print one JSON object')
    .option('--client', 'only the client figures: Data Matrix encoding and vpm batch')
    .option('--cli', 'only the start-up of vpm --help and vpm balance, beside node -e 0')
    .option('--datacenter', 'only the data center figures (no client batch, no CLI start-up)')
    .option(
      '--single-node',
      'with --datacenter: only the single node (peak, half load, bare-HTTPS floor), no pool, no engines',
    )
    .option(
      '--rates <list>',
      'also the latency and CPU per transaction at these offered rates (tx/s, comma-separated), after the half load',
    )
    .option(
      '--skeleton',
      "with the data center: also the design's skeleton (a dispense's work without the product's framework) at the half load and each of --rates",
    )
    .option('--faults', 'run the crash, tamper, fuzz and abuse campaigns instead')
    .option('--long', 'with --faults: the deep campaign')
    .option(
      '--profile <dir>',
      'write CPU profiles of the data center, its box processes and each vpm batch to this folder',
    )
    .action(
      async (opts: {
        quick?: boolean;
        json?: boolean;
        client?: boolean;
        cli?: boolean;
        datacenter?: boolean;
        singleNode?: boolean;
        faults?: boolean;
        long?: boolean;
        profile?: string;
        rates?: string;
        skeleton?: boolean;
      }) => {
        const rates = opts.rates === undefined ? undefined : parseRates(opts.rates);
        if ((rates || opts.skeleton) && (opts.client || opts.cli || opts.faults))
          throw new CliError(
            `${rates ? '--rates' : '--skeleton'} measures the data center: use it without --client, --cli and --faults`,
            EXIT.usage,
          );
        const { BENCH_CLIENT } = await import('../bench-client');
        if (opts.faults) {
          const { runFaultCampaign } = await import('../../bench/faults');
          const result = await runFaultCampaign(BENCH_CLIENT, {
            long: opts.long ?? false,
            log: (line: string) => io().stdout.write(`${line}\n`),
          });
          if (result.problems.length > 0)
            throw new CliError(
              `fault campaign: ${result.problems.length} problem(s) found`,
              EXIT.refused,
            );
          return;
        }
        const { runBenchmark } = await import('../../bench/benchmark');
        await runBenchmark(BENCH_CLIENT, {
          quick: opts.quick ?? false,
          json: opts.json ?? false,
          clientOnly: opts.client ?? false,
          cliOnly: opts.cli ?? false,
          datacenterOnly: (opts.datacenter ?? false) || (opts.singleNode ?? false),
          singleNodeOnly: opts.singleNode ?? false,
          ...(opts.profile ? { profileDir: opts.profile } : {}),
          ...(rates ? { rates } : {}),
          ...(opts.skeleton ? { skeleton: true } : {}),
        });
      },
    );
}

/** Highest offered rate `--rates` takes (tx/s). */
const MAX_RATE = 100_000;

/** `--rates 300,600,900`: whole numbers of transactions a second, from 1 to MAX_RATE. */
export function parseRates(list: string): number[] {
  const parts = list.split(',').map((part) => part.trim());
  const rates = parts.map(Number);
  if (
    parts.some((part) => !/^[0-9]+$/.test(part)) ||
    rates.some((rate) => rate < 1 || rate > MAX_RATE)
  )
    throw new CliError(
      `--rates ${list}: give offered rates in transactions a second as whole numbers from 1 to ${MAX_RATE}, comma-separated (for example --rates 300,600,900)`,
      EXIT.usage,
    );
  return rates;
}
