/**
 * @module app/cli
 * The `vpm` program as the product ships it: the client's commands (client/cli) with the groups
 * the client has no code for handed in here: the offline demo over the embedded data center,
 * the benchmarks, and the data center and postal authority commands. Each group loads only when
 * a command of it runs, so `vpm balance` loads none of them.
 */
import type { CliIo } from '../../client/cli/io';
import { runCli, type CommandGroups, type Register } from '../../client/cli/main';

export const APP_COMMANDS: CommandGroups = {
  demo: async (): Promise<Register> => {
    const [{ registerDemoCommands }, { startDemoBackend }] = await Promise.all([
      import('../../client/cli/demo-command'),
      import('../demo-backend'),
    ]);
    return (program) => registerDemoCommands(program, startDemoBackend);
  },
  bench: async () => (await import('./bench-command')).registerBenchCommand,
  datacenter: async () => (await import('./datacenter-command')).registerDatacenterCommands,
  postal: async () => (await import('./postal-command')).registerPostalCommands,
};

/**
 * Runs one `vpm` command line (without the program name); resolves with its exit code. With
 * `io`, in-process with its own output, input and environment (the tests do).
 */
export function runVpm(argv: string[], io?: CliIo): Promise<number> {
  return runCli(argv, APP_COMMANDS, io);
}
