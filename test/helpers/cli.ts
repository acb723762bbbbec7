/**
 * Test helper: runs `vpm` command lines in this process (vpmInProcess: what most tests do), or as
 * a real process (vpm: from source, through tsx, for what only a process shows: an exit code, a
 * kill mid-way; test/build/ checks the built dist/), and a real data center process started with
 * `vpm datacenter start --port 0`.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { resolveEntry } from '../../runtime/launch';

const cli = resolveEntry('cli');
/** Node's arguments that run `vpm` from source: spawn(process.execPath, [...VPM_ARGS, ...args]). */
export const VPM_ARGS: readonly string[] = [...cli.execArgv, cli.file];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** `vpm ARGS` as its own process (the smoke tests); most tests use vpmInProcess. */
export function vpm(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; cwd?: string } = {},
): Promise<RunResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [...VPM_ARGS, ...args], {
      env: { ...process.env, ...options.env },
      cwd: options.cwd ?? tmpdir(),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs one `vpm` command line in this process (the CLI's runVpm with its own output, input and
 * environment): what most CLI tests do, as `vpm` but without a process start each. Paths in
 * `args` must be absolute (there is no working directory of its own); `vpm()` keeps the real
 * process for the smoke tests.
 */
export async function vpmInProcess(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<RunResult> {
  const { runVpm } = await import('../../app/cli/index');
  let stdout = '';
  let stderr = '';
  const code = await runVpm(args, {
    stdout: { write: (chunk) => void (stdout += String(chunk)), isTTY: false },
    stderr: { write: (chunk) => void (stderr += String(chunk)), isTTY: false },
    stdin: Object.assign(Readable.from([Buffer.from(options.input ?? '')]), { isTTY: false }),
    env: { ...process.env, ...options.env },
  });
  return { code, stdout, stderr };
}

export interface DataCenterProcess {
  dir: string;
  url: string;
  caPath: string;
  /** Where the custodian shares were written (custodian-N.share). */
  shareDir: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * `vpm datacenter init` in this process, in a fresh temporary directory named from `prefix`,
 * the custodian shares written beside it (`DIR-shares`). `extra`: more init flags.
 */
export async function initDataCenterDir(
  prefix: string,
  extra: readonly string[] = [],
): Promise<{ dir: string; shareDir: string }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  const shareDir = `${dir}-shares`;
  const init = await vpmInProcess([
    'datacenter',
    'init',
    '--data',
    dir,
    '--share-out',
    shareDir,
    ...extra,
  ]);
  if (init.code !== 0) throw new Error(`datacenter init failed: ${init.stderr}`);
  return { dir, shareDir };
}

/**
 * Inits a data center in a fresh dir (`vpm datacenter init`, run in this process) and starts it
 * as its own process on a free port.
 */
export async function startDataCenterProcess(
  options: {
    demo?: boolean;
    env?: NodeJS.ProcessEnv;
    /** `--database URL` at init and start (PostgreSQL); absent: SQLite in the data dir. */
    database?: string;
    /** More `datacenter start` flags. */
    startArgs?: readonly string[];
  } = {},
): Promise<DataCenterProcess> {
  const database = options.database === undefined ? [] : ['--database', options.database];
  const { dir, shareDir } = await initDataCenterDir('vpm-dcp-', [
    ...(options.demo ? ['--demo'] : []),
    ...database,
  ]);
  const child = spawn(
    process.execPath,
    [
      ...VPM_ARGS,
      'datacenter',
      'start',
      '--data',
      dir,
      '--port',
      '0',
      '--share',
      join(shareDir, 'custodian-1.share'),
      '--share',
      join(shareDir, 'custodian-2.share'),
      ...database,
      ...(options.startArgs ?? []),
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } },
  );
  const url = await new Promise<string>((done, fail) => {
    let text = '';
    child.stdout?.on('data', (d) => {
      text += d;
      const m = /listening at (https:\/\/\S+)/.exec(text);
      if (m) done(m[1] as string);
    });
    child.on('exit', (code) => fail(new Error(`data center exited early (${code}): ${text}`)));
  });
  return {
    dir,
    url,
    caPath: join(dir, 'tls', 'ca.pem'),
    shareDir,
    child,
    stop: async () => {
      await new Promise<void>((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      });
      await rm(shareDir, { recursive: true, force: true });
    },
  };
}
