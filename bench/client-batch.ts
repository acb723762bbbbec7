/**
 * @module bench/client-batch
 * The client figures of issues 9 and 16: a CSV batch to one print-ready PDF as a mailer runs it,
 * `vpm batch FILE --out PDF` in a process of its own, from process start to exit (the PDF is
 * closed before) — CSV checked whole, indicia bought from the data center in chunks, one PDF
 * rendered. The process reports its own peak RSS and CPU time at exit (bench/exit-usage.mjs).
 */
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { childProcesses, processCpuMs } from './cpu-time';
import type { BenchClient } from './mailer-client';
import { launchProcess, resolveEntry } from '../runtime/launch';

export interface BatchRun {
  pieces: number;
  /** Process start to exit, wall clock. */
  ms: number;
  /** The batch process's peak resident set, all threads. */
  peakRssMb: number;
  /** CPU time of the batch process (user + system, all threads). */
  cpuMs: number;
  pdfBytes: number;
  /** CPU time of the data center and its boxes during the batch (null without /proc). */
  dataCenterCpuMs: number | null;
}

/** CPU ms of a process and its children so far, or null where /proc is missing. */
function treeCpuMs(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  const pids = [pid, ...childProcesses(pid).map((c) => c.pid)];
  let total = 0;
  for (const p of pids) {
    const ms = processCpuMs(p);
    if (ms === null) return null;
    total += ms;
  }
  return total;
}

/** The address list: about 50 characters a row, every ZIP a real one for the indicium. */
export function batchCsv(pieces: number): string {
  const rows = Array.from(
    { length: pieces },
    (_, i) =>
      `Person ${i},${i + 1} Main St,Springfield,IL,627${String((i % 8) + 1).padStart(2, '0')},0.78,first-class`,
  );
  return ['name,street,city,state,zip,postage,class', ...rows].join('\n') + '\n';
}

/** Signs a new mailer up and funds it, then times `vpm batch` of `pieces` rows to one PDF. */
export async function batchRun(
  parts: BenchClient,
  serverUrl: string,
  caPath: string,
  pieces = 1000,
  dataCenterPid?: number,
  user = `benchbatch${pieces}`,
  profileDir?: string,
): Promise<BatchRun> {
  const home = await mkdtemp(join(tmpdir(), 'vpm-bench-client-'));
  const session = parts.signOn(home, { serverUrl, caPath });
  try {
    const password = 'bench batch password';
    await session.signUp({ username: user, password, name: 'Bench Batch', originZip: '10001' });
    await session.signIn(user, password); // the session file the CLI process reads
    await session.refill({
      amountCents: pieces * 100,
      cardNumber: '4242424242424242',
      idempotencyKey: `bench-batch-funds-${pieces}`,
    });
    const csv = join(home, 'batch.csv');
    const pdf = join(home, 'batch.pdf');
    const usage = join(home, 'usage.json');
    await writeFile(csv, batchCsv(pieces));
    const dcBefore = treeCpuMs(dataCenterPid);
    const started = performance.now();
    const child = launchProcess('cli', ['batch', csv, '--out', pdf], {
      execArgv: [
        '--import',
        pathToFileURL(resolveEntry('exit-usage').file).href,
        ...(profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : []),
      ],
      cwd: home,
      env: {
        ...process.env,
        VPM_HOME: home,
        VPM_KEYCHAIN: 'none',
        VPM_SERVER: serverUrl,
        VPM_CA: caPath,
        VPM_BENCH_USAGE: usage,
      },
    });
    child.end();
    child.stdout.resume();
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.onExit(resolve));
    const ms = performance.now() - started;
    const dcAfter = treeCpuMs(dataCenterPid);
    if (code !== 0) throw new Error(`vpm batch of ${pieces} exited with ${code}: ${stderr}`);
    const u = JSON.parse(await readFile(usage, 'utf8')) as {
      maxRssKb: number;
      userUs: number;
      systemUs: number;
    };
    return {
      pieces,
      ms,
      peakRssMb: u.maxRssKb / 1024,
      cpuMs: (u.userUs + u.systemUs) / 1000,
      pdfBytes: (await stat(pdf)).size,
      dataCenterCpuMs: dcBefore === null || dcAfter === null ? null : dcAfter - dcBefore,
    };
  } finally {
    await session.close();
    await rm(home, { recursive: true, force: true });
  }
}
