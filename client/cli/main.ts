/**
 * @module cli
 * The `vpm` command line: the client services without a window, plus the data center commands.
 * Exit codes: 0 success, 1 a refused operation (the message says why), 2 bad usage,
 * 3 not signed in, 4 data center unreachable, 5 verification failed (`vpm verify`).
 */
import { Command, CommanderError } from 'commander';
import { withAdvice } from '../../shared/errors';
import { CliError, EXIT } from './errors';
import { io, withIo, type CliIo } from './io';

export { CliError, EXIT };

/** Adds a group's commands to the program. */
export type Register = (program: Command) => void;

/** The command groups, in the order help lists them. */
const GROUPS = ['client', 'demo', 'bench', 'datacenter', 'postal', 'verify'] as const;
type Group = (typeof GROUPS)[number];
/** The groups whose code is not the client's: the composition root (app/cli) hands them in. */
export type HandedInGroup = Exclude<Group, 'client' | 'verify'>;
/** Each handed-in group's loader (a dynamic import, so that a command loads only its own group). */
export type CommandGroups = Partial<Record<HandedInGroup, () => Promise<Register>>>;

/**
 * The client's own groups, loaded only when their commands can run: verify brings the barcode
 * reader; the handed-in ones the whole data center (fastify, SQLite, X.509); loading them all
 * cost `vpm batch` about a second of its start.
 */
const OWN: Record<Exclude<Group, HandedInGroup>, () => Promise<Register>> = {
  client: async () => (await import('./client-commands')).registerClientCommands,
  verify: async () => (await import('./verify-command')).registerVerifyCommand,
};

function loader(group: Group, handedIn: CommandGroups): (() => Promise<Register>) | undefined {
  return group === 'client' || group === 'verify' ? OWN[group] : handedIn[group];
}

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

async function makeProgram(groups: readonly Group[], handedIn: CommandGroups): Promise<Command> {
  const program = new Command('vpm')
    .description(
      'Virtual postage meter: print postage from your PC, with the meter kept at the data center',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void io().stdout.write(text),
      writeErr: (text) => void io().stderr.write(text),
    })
    .showHelpAfterError('(run with --help to see the options)');
  program
    .option(
      '--server <url>',
      'data center URL; repeat for each API node, tried in turn (or VPM_SERVER, comma-separated; default: the last sign-on)',
      (url: string, before?: string) => (before ? `${before},${url}` : url),
    )
    .option('--ca <file>', "data center's CA certificate, pinned (or VPM_CA)");
  const loaders = groups.flatMap((g) => loader(g, handedIn) ?? []);
  for (const register of await Promise.all(loaders.map((load) => load()))) register(program);
  return program;
}

/**
 * The `vpm` program. Given the command line, it loads only the group of the command it names
 * (`vpm batch` loads no data center code); for help, an unknown command or no command line, all.
 */
export async function buildProgram(
  argv?: readonly string[],
  handedIn: CommandGroups = {},
): Promise<Command> {
  const name = argv ? commandName(argv) : undefined;
  if (name !== undefined) {
    const group: Group =
      name === 'start' ? 'demo' : GROUPS.includes(name as Group) ? (name as Group) : 'client';
    const program = await makeProgram([group], handedIn);
    if (program.commands.some((c) => c.name() === name || c.aliases().includes(name)))
      return program;
  }
  return makeProgram(GROUPS, handedIn);
}

/** Maps an error from the services to a message with its code's advice, and an exit code. */
function explain(error: unknown): { message: string; exitCode: number } {
  const code = (error as { code?: string }).code;
  const message = withAdvice(error instanceof Error ? error.message : String(error), code);
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
    case 'BAD_PIECE':
    case 'BAD_WEIGHT':
    case 'BAD_SIZE':
    case 'BAD_HANDLE':
      return { message, exitCode: EXIT.usage };
    default:
      return { message, exitCode: EXIT.refused };
  }
}

/**
 * Runs one `vpm` command line (without the program name); resolves with its exit code. The
 * groups that are not the client's (demo, bench, data center, postal) are handed in by the
 * composition root (app/cli). `given` runs it in-process with its own output, input and
 * environment (see cli/io.ts).
 */
export async function runCli(
  argv: string[],
  handedIn: CommandGroups = {},
  given?: CliIo,
): Promise<number> {
  if (given) return withIo(given, () => runCli(argv, handedIn));
  try {
    await (await buildProgram(argv, handedIn)).parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      io().stderr.write(`vpm: ${error.message}\n`);
      return error.exitCode;
    }
    const { message, exitCode } = explain(error);
    io().stderr.write(`vpm: ${message}\n`);
    return exitCode;
  }
}
