/**
 * @module cli/io
 * Where a `vpm` command reads and writes: the process's own streams and environment, or the ones
 * a caller hands to runCli (the tests run most command lines in-process this way, each with its
 * own output, input and environment). Commands reach them through io(), never through
 * `process.stdout` and friends directly.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CliOutput {
  write(chunk: string | Uint8Array): unknown;
  readonly isTTY?: boolean;
}

export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  stdin: NodeJS.ReadableStream & {
    readonly isTTY?: boolean;
    setRawMode?: (raw: boolean) => unknown;
  };
  env: NodeJS.ProcessEnv;
}

const current = new AsyncLocalStorage<CliIo>();

/** The streams and environment of the command line being run. */
export function io(): CliIo {
  return (
    current.getStore() ?? {
      stdout: process.stdout,
      stderr: process.stderr,
      stdin: process.stdin,
      env: process.env,
    }
  );
}

/** Runs `fn` with these streams and this environment as the command line's. */
export function withIo<T>(given: CliIo, fn: () => Promise<T>): Promise<T> {
  return current.run(given, fn);
}
