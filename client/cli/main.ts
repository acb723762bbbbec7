/**
 * @module cli
 * The `vpm` command line: the client services without a window, plus the data center commands.
 * Exit codes: 0 success, 1 a refused operation (the message says why), 2 bad usage,
 * 3 not signed in, 4 data center unreachable, 5 verification failed (`vpm verify`).
 */
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './errors';

export { CliError, EXIT };

type Register = (program: Command) => void;

/** The command groups, in the order help lists them. */
const GROUPS = ['client', 'demo', 'bench', 'datacenter', 'postal', 'verify'] as const;
type Group = (typeof GROUPS)[number];

/**
 * Each group's module, loaded only when its commands can run: the data center and postal commands
 * bring the whole data center (fastify, SQLite, X.509), verify the barcode reader, demo both;
 * loading them all cost `vpm batch` about a second of its start.
 */
const LOAD: Record<Group, () => Promise<Register>> = {
  client: async () => (await import('./client-commands')).registerClientCommands,
  demo: async () => (await import('./demo-command')).registerDemoCommands,
  bench: async () => registerBench,
  datacenter: async () => (await import('./datacenter-command')).registerDatacenterCommands,
  postal: async () => (await import('./postal-command')).registerPostalCommands,
  verify: async () => (await import('./verify-command')).registerVerifyCommand,
};

/** The command named on the command line (after the global options), if any. */
function commandName(argv: readonly string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') return argv[i + 1];
    if (arg === '--server' || arg === '--ca') i++;
    else if (!arg.startsWith('-')) return arg;
  }
  return undefined;
}

async function makeProgram(groups: readonly Group[]): Promise<Command> {
  const program = new Command('vpm')
    .description(
      'Virtual postage meter: print postage from your PC, with the meter kept at the data center',
    )
    .exitOverride()
    .showHelpAfterError('(run with --help to see the options)');
  program
    .option(
      '--server <url>',
      'data center URL; repeat for each API node, tried in turn (or VPM_SERVER, comma-separated; default: the last sign-on)',
      (url: string, before?: string) => (before ? `${before},${url}` : url),
    )
    .option('--ca <file>', "data center's CA certificate, pinned (or VPM_CA)");
  for (const register of await Promise.all(groups.map((g) => LOAD[g]()))) register(program);
  return program;
}

/**
 * The `vpm` program. Given the command line, it loads only the group of the command it names
 * (`vpm batch` loads no data center code); for help, an unknown command or no command line, all.
 */
export async function buildProgram(argv?: readonly string[]): Promise<Command> {
  const name = argv ? commandName(argv) : undefined;
  if (name !== undefined) {
    const group: Group =
      name === 'start' ? 'demo' : GROUPS.includes(name as Group) ? (name as Group) : 'client';
    const program = await makeProgram([group]);
    if (program.commands.some((c) => c.name() === name || c.aliases().includes(name)))
      return program;
  }
  return makeProgram(GROUPS);
}

function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'benchmarks: data center throughput and latency beside raw ECDSA and SQLite rates, client batch, barcodes',
    )
    .option('--quick', 'a shorter run (within two minutes)')
    .option('--json', 'print one JSON object')
    .option('--client', 'only the client figures: Data Matrix encoding and vpm batch')
    .option('--cli', 'only the start-up of vpm --help and vpm balance, beside node -e 0')
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
        faults?: boolean;
        long?: boolean;
        profile?: string;
      }) => {
        if (opts.faults) {
          const { runFaultCampaign } = await import('../../bench/faults');
          const result = await runFaultCampaign({
            long: opts.long ?? false,
            log: (line: string) => process.stdout.write(`${line}\n`),
          });
          if (result.problems.length > 0)
            throw new CliError(
              `fault campaign: ${result.problems.length} problem(s) found`,
              EXIT.refused,
            );
          return;
        }
        const { runBenchmark } = await import('../../bench/benchmark');
        await runBenchmark({
          quick: opts.quick ?? false,
          json: opts.json ?? false,
          clientOnly: opts.client ?? false,
          cliOnly: opts.cli ?? false,
          ...(opts.profile ? { profileDir: opts.profile } : {}),
        });
      },
    );
}

/** Maps an error from the services to a message and an exit code. */
function explain(error: unknown): { message: string; exitCode: number } {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'UNREACHABLE':
    case 'UNTRUSTED_SERVER':
    case 'POSTAL_UNREACHABLE':
      return { message, exitCode: EXIT.unreachable };
    case 'NOT_SIGNED_IN':
    case 'UNAUTHENTICATED':
    case 'SESSION_EXPIRED':
      return { message, exitCode: EXIT.signedOut };
    case 'BAD_AMOUNT':
    case 'BAD_ZIP':
    case 'NO_RATE':
      return { message, exitCode: EXIT.usage };
    default:
      return { message, exitCode: EXIT.refused };
  }
}

/** Runs one `vpm` command line (without the program name); resolves with its exit code. */
export async function runCli(argv: string[]): Promise<number> {
  try {
    await (await buildProgram(argv)).parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`vpm: ${error.message}\n`);
      return error.exitCode;
    }
    const { message, exitCode } = explain(error);
    process.stderr.write(`vpm: ${message}\n`);
    return exitCode;
  }
}
