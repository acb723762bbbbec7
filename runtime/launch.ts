/**
 * @module runtime/launch
 * The one place that starts the product's child processes and worker threads. Each is named by
 * its entry (entries.json: box programs, the key ceremony, the SQLite writer and checkpoint
 * threads, the CLI, bench helpers), and started from its built file in `dist/` (`npm run build`).
 * Only when this module itself runs from source (Vitest, development) are the entries started
 * from source through tsx; the built product never loads tsx or a `.ts` file.
 * Children are forked by a ForkFunction: Node's child_process.fork by default; the desktop app
 * hands in Electron's utilityProcess.fork (its RunAsNode fuse is off) through configureLaunch.
 */
import { fork as nodeFork } from 'node:child_process';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker, type WorkerOptions } from 'node:worker_threads';
import BUILD from './entries.json';

/** Every entry the product starts, by name: its source file (the built one is dist/NAME.mjs). */
export const ENTRIES = BUILD.entries;
export type EntryName = keyof typeof ENTRIES;
/**
 * The entries the desktop app starts (the embedded demo's boxes, ceremony and database
 * threads), built a second time into dist/app/ with their npm packages inside, except the
 * native ones (BUILD.native), which the package keeps unpacked in node_modules.
 */
export const DESKTOP_APP_ENTRIES = BUILD.desktopApp as EntryName[];

/** A started child: its framed byte input (stdin, or Electron's message port), output and exit. */
export interface LaunchedChild {
  readonly pid: number | undefined;
  readonly stdout: NodeJS.ReadableStream;
  readonly stderr: NodeJS.ReadableStream;
  /** False once the input was ended or the child exited. */
  readonly writable: boolean;
  /** Sends bytes to the child's input (see runtime/child-input.ts). */
  write(bytes: Buffer): void;
  /** Ends the child's input: it finishes its work and exits. */
  end(): void;
  kill(signal?: NodeJS.Signals): void;
  onExit(listener: (code: number | null, signal: NodeJS.Signals | null) => void): void;
}

export interface ForkOptions {
  env: NodeJS.ProcessEnv;
  cwd?: string;
  execArgv: string[];
  /** A short name for the child (Electron shows it as the utility process's service name). */
  name: string;
}

/** Starts a JavaScript file as a child process with piped input and output. */
export type ForkFunction = (file: string, args: string[], options: ForkOptions) => LaunchedChild;

/** child_process.fork with every stdio piped (the input on stdin). */
export const forkNode: ForkFunction = (file, args, options) => {
  const child = nodeFork(file, args, {
    env: options.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    execArgv: options.execArgv,
    stdio: ['pipe', 'pipe', 'pipe', 'ipc'],
  });
  const stdin = child.stdin!;
  stdin.on('error', () => undefined); // EPIPE after a crash: the exit listener reports it
  child.on('error', () => undefined); // a failed start shows as the exit below
  child.channel?.unref(); // the IPC channel alone keeps neither side alive
  return {
    get pid() {
      return child.pid;
    },
    stdout: child.stdout!,
    stderr: child.stderr!,
    get writable() {
      return stdin.writable;
    },
    write: (bytes) => void (stdin.writable && stdin.write(bytes)),
    end: () => void stdin.end(),
    kill: (signal) => void child.kill(signal),
    onExit: (listener) => void child.on('exit', listener),
  };
};

let forkFunction: ForkFunction = forkNode;
/** Set by configureLaunch; else found from this module's own file (see defaultBuiltDir). */
let configuredDir: string | undefined;

/** This module's file is a chunk in dist/ when built, `.ts` when it runs from source. */
function defaultBuiltDir(): string | undefined {
  const here = fileURLToPath(import.meta.url);
  return extname(here) === '.ts' ? undefined : dirname(here);
}

/**
 * Set once by the composition root that runs somewhere else than Node: the desktop app hands in
 * utilityProcess.fork and the folder its built entries are packaged in (electron/launch-paths.ts).
 */
export function configureLaunch(options: { fork?: ForkFunction; builtDir?: string }): void {
  if (options.fork) forkFunction = options.fork;
  if (options.builtDir) configuredDir = options.builtDir;
}

/** Where an entry runs from, and the Node options it needs there. */
export function resolveEntry(entry: EntryName | { source: string }): {
  file: string;
  execArgv: string[];
} {
  const builtDir = configuredDir ?? defaultBuiltDir();
  if (typeof entry === 'object' || builtDir === undefined) {
    // From source (tests and development only): .ts files need tsx's loader.
    const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
    const file = typeof entry === 'object' ? resolve(entry.source) : join(root, ENTRIES[entry]);
    return {
      file,
      execArgv: extname(file) === '.ts' ? ['--import', import.meta.resolve('tsx')] : [],
    };
  }
  return { file: join(builtDir, `${entry}.mjs`), execArgv: [] };
}

/** Starts an entry as a child process (input, stdout and stderr piped). */
export function launchProcess(
  entry: EntryName | { source: string },
  args: string[],
  options: { env?: NodeJS.ProcessEnv; execArgv?: string[]; cwd?: string } = {},
): LaunchedChild {
  const { file, execArgv } = resolveEntry(entry);
  return forkFunction(file, args, {
    env: options.env ?? process.env,
    ...(options.cwd ? { cwd: options.cwd } : {}),
    execArgv: [...(options.execArgv ?? []), ...execArgv],
    name: typeof entry === 'object' ? 'vpm' : `vpm ${entry}`,
  });
}

/** Starts an entry as a worker thread. */
export function launchWorker(entry: EntryName, options: WorkerOptions = {}): Worker {
  const { file, execArgv } = resolveEntry(entry);
  if (execArgv.length === 0) return new Worker(file, options);
  // From source: loader hooks are per thread, so this thread registers tsx, then runs the entry.
  const code = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((m) => { m.register(); return import(${JSON.stringify(pathToFileURL(file).href)}); });`;
  return new Worker(code, { ...options, eval: true });
}
