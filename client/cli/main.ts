/**
 * @module cli
 * The `vpm` command line: the client services without a window, plus the data center commands.
 * Exit codes: 0 success, 1 a refused operation (the message says why), 2 bad usage,
 * 3 not signed in, 4 data center unreachable, 5 verification failed (`vpm verify`).
 */
import { Command, CommanderError } from 'commander';
import { CliError, EXIT } from './errors';
import { registerDatacenterCommands } from './datacenter-command';
import { registerVerifyCommand } from './verify-command';

export { CliError, EXIT };

function notYet(feature: string): never {
  throw new CliError(`${feature}: not yet available in this build`, EXIT.usage);
}

export function buildProgram(): Command {
  const program = new Command('vpm')
    .description(
      'Virtual postage meter: print postage from your PC, with the meter kept at the data center',
    )
    .exitOverride()
    .showHelpAfterError('(run with --help to see the options)');

  program
    .command('app-demo')
    .description('start the product in offline demo mode')
    .action(() => notYet('app-demo'));
  program
    .command('bench')
    .description('run the benchmarks')
    .action(() => notYet('bench'));
  registerDatacenterCommands(program);
  registerVerifyCommand(program);
  return program;
}

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv, { from: 'user' });
    return EXIT.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      return error.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    if (error instanceof CliError) {
      process.stderr.write(`vpm: ${error.message}\n`);
      return error.exitCode;
    }
    process.stderr.write(`vpm: ${error instanceof Error ? error.message : String(error)}\n`);
    return EXIT.refused;
  }
}

process.exitCode = await main(process.argv.slice(2));
