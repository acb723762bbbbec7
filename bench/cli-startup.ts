/**
 * @module bench/cli-startup
 * How fast `vpm` answers (issue 18), beside a bare `node -e 0` measured in the same run: the
 * median wall and CPU time (user + system, from the process itself at exit) of `vpm --help` and
 * of `vpm balance` against the running data center. Runs alternate between the three commands so
 * that a busy moment of the machine spreads over all of them.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { resolveEntry } from '../runtime/launch';
import type { BenchClient } from './mailer-client';

export interface StartupFigure {
  medianWallMs: number;
  medianCpuMs: number;
}

export interface CliStartup {
  runs: number;
  nodeBaseline: StartupFigure;
  help: StartupFigure;
  balance: StartupFigure;
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
};

/** One process start to exit: wall time here, CPU time as the process reports it at exit. */
async function timed(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ wallMs: number; cpuMs: number }> {
  const usage = join(env.VPM_HOME as string, `usage-${process.hrtime.bigint()}.json`);
  const started = performance.now();
  const child = spawn(process.execPath, ['--import', USAGE_HOOK, ...args], {
    env: { ...env, VPM_BENCH_USAGE: usage },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', resolve);
  });
  const wallMs = performance.now() - started;
  if (code !== 0) throw new Error(`${args.join(' ')} exited with ${code}: ${stderr}`);
  const u = JSON.parse(await readFile(usage, 'utf8')) as { userUs: number; systemUs: number };
  return { wallMs, cpuMs: (u.userUs + u.systemUs) / 1000 };
}

const USAGE_HOOK = pathToFileURL(resolveEntry('exit-usage').file).href;

/** Times `node -e 0`, `vpm --help` and `vpm balance` (signed in to the given data center). */
export async function cliStartup(
  parts: BenchClient,
  serverUrl: string,
  caPath: string,
  options: { quick?: boolean; say?: (line: string) => void } = {},
): Promise<CliStartup> {
  const say = options.say ?? (() => undefined);
  const home = await mkdtemp(join(tmpdir(), 'vpm-bench-cli-'));
  const session = parts.signOn(home, { serverUrl, caPath });
  try {
    const password = 'bench cli password';
    await session.signUp({ username: 'benchcli', password, name: 'Bench CLI', originZip: '10001' });
    await session.signIn('benchcli', password); // the session file `vpm balance` reads
    const env = {
      ...process.env,
      VPM_HOME: home,
      VPM_KEYCHAIN: 'none',
      VPM_SERVER: serverUrl,
      VPM_CA: caPath,
    };
    const cli = resolveEntry('cli');
    const commands = {
      nodeBaseline: ['-e', '0'],
      help: [...cli.execArgv, cli.file, '--help'],
      balance: [...cli.execArgv, cli.file, 'balance'],
    };
    const runs = options.quick ? 7 : 15;
    const samples = { nodeBaseline: [], help: [], balance: [] } as Record<
      keyof typeof commands,
      { wallMs: number; cpuMs: number }[]
    >;
    for (let i = 0; i < runs; i++)
      for (const name of Object.keys(commands) as (keyof typeof commands)[])
        samples[name].push(await timed(commands[name], env));
    const figure = (name: keyof typeof commands): StartupFigure => ({
      medianWallMs: Number(median(samples[name].map((s) => s.wallMs)).toFixed(1)),
      medianCpuMs: Number(median(samples[name].map((s) => s.cpuMs)).toFixed(1)),
    });
    const result = {
      runs,
      nodeBaseline: figure('nodeBaseline'),
      help: figure('help'),
      balance: figure('balance'),
    };
    const line = (label: string, f: StartupFigure, goal: string) =>
      say(
        `  ${label}  median ${f.medianWallMs.toFixed(0)} ms wall, ${f.medianCpuMs.toFixed(0)} ms CPU${goal}`,
      );
    say(`CLI start-up (${runs} runs each, interleaved):`);
    line('node -e 0           ', result.nodeBaseline, '');
    line('vpm --help          ', result.help, ' (goal < 200 ms wall)');
    line('vpm balance (online)', result.balance, ' (goal < 350 ms wall)');
    return result;
  } finally {
    await session.close();
    await rm(home, { recursive: true, force: true });
  }
}
