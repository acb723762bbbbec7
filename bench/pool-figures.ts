/**
 * @module bench/pool-figures
 * The data center as a box pool and API nodes (docs/nodes.md), in the same run as the single
 * node and the bare-HTTPS floor (bench/benchmark.ts): the same closed-loop load against a pool of
 * 1 meter shard with 1 node and 2 shards with 1 node on SQLite (one node per SQLite database),
 * and 2 shards with 1 and 2 nodes (clients spread over the nodes) on PostgreSQL (a server of its
 * own, durable), each with the CPU milliseconds per transaction of every process, from which
 * docs/performance.md reads how throughput grows with cores.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { initDataCenter } from '../server-mock/index';
import { childProcesses, CpuMeter } from './cpu-time';
import { startPostgres, type PostgresServer } from './postgres-server';
import {
  closeMailers,
  LOAD_CONNECTIONS,
  makeMailers,
  readCa,
  spawnBoxPool,
  spawnDataCenter,
  spec,
  type DataCenterProcess,
  type Mailer,
} from './harness';
import type { BenchClient } from './mailer-client';

export interface PoolFigure {
  shards: number;
  nodes: number;
  database: 'sqlite' | 'postgres';
  txPerSec: number;
  p50Ms: number;
  p99Ms: number;
  errors: Record<string, number>;
  /** CPU ms per transaction by process: load generator, each node, each pooled box. */
  cpuMsPerTx: Record<string, number> | null;
}

const SETUPS = [
  { shards: 1, nodes: 1, database: 'sqlite' },
  { shards: 2, nodes: 1, database: 'sqlite' },
  { shards: 2, nodes: 1, database: 'postgres' },
  { shards: 2, nodes: 2, database: 'postgres' },
] as const;

const round = (x: number, digits = 2) => Number(x.toFixed(digits));
const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;

/** Closed loop: `perMailer` requests in flight per mailer; latencies after the warm-up. */
async function closedLoop(
  mailers: Mailer[],
  perMailer: number,
  warmupMs: number,
  measureMs: number,
  cpu: CpuMeter,
): Promise<{
  done: number;
  latencies: number[];
  errors: Record<string, number>;
  cpu: Record<string, number> | null;
}> {
  const out = {
    done: 0,
    latencies: [] as number[],
    errors: {} as Record<string, number>,
    cpu: null as Record<string, number> | null,
  };
  const from = performance.now() + warmupMs;
  const until = from + measureMs;
  const begin = setTimeout(() => cpu.begin(), warmupMs);
  const end = setTimeout(() => (out.cpu = cpu.end(out.done)), warmupMs + measureMs);
  const worker = async (m: Mailer) => {
    while (performance.now() < until) {
      const start = performance.now();
      try {
        await m.client.dispense({ pieces: [spec(1 + Math.floor(Math.random() * 60))] });
        if (start >= from) {
          out.done++;
          out.latencies.push(performance.now() - start);
        }
      } catch (error) {
        const code = m.via.errorCode(error) ?? 'THROWN';
        out.errors[code] = (out.errors[code] ?? 0) + 1;
      }
    }
  };
  await Promise.all(mailers.flatMap((m) => Array.from({ length: perMailer }, () => worker(m))));
  clearTimeout(begin);
  clearTimeout(end);
  return out;
}

/** Runs each setup on its own fresh data directory; returns a figure per setup. */
export async function poolFigures(
  parts: BenchClient,
  options: {
    quick: boolean;
    mailers: number;
    perMailer: number;
    say: (line: string) => void;
  },
): Promise<PoolFigure[]> {
  const figures: PoolFigure[] = [];
  const measureMs = options.quick ? 8000 : 20_000;
  let postgres: PostgresServer | undefined;
  try {
    for (const setup of SETUPS) {
      let database: string | undefined;
      if (setup.database === 'postgres') {
        postgres ??= await startPostgres({ durable: true });
        database = await postgres.createDatabase();
      }
      const dir = await mkdtemp(join(tmpdir(), 'vpm-bench-pool-'));
      const socketDir = join(dir, 'pool');
      const procs: DataCenterProcess[] = [];
      let mailers: Mailer[] = [];
      try {
        const { shares } = await initDataCenter(dir, database ? { database } : {});
        const caPem = await readCa(dir);
        const pool = await spawnBoxPool(dir, { shares, socketDir, shards: setup.shards });
        procs.push(pool);
        const nodes: DataCenterProcess[] = [];
        for (let i = 0; i < setup.nodes; i++)
          nodes.push(
            await spawnDataCenter(dir, {
              shares,
              boxes: socketDir,
              ...(database ? { database } : {}),
            }),
          );
        procs.push(...nodes);
        for (let i = 0; i < options.mailers; i += 8) {
          const made = await Promise.all(
            Array.from({ length: Math.min(8, options.mailers - i) }, (_, j) =>
              makeMailers(
                parts,
                nodes[0]!.url,
                caPem,
                1,
                10_000_000,
                `pool${i + j}`,
                LOAD_CONNECTIONS,
              ),
            ),
          );
          mailers.push(...made.flat());
        }
        // Spread the mailers over the nodes (each client lists its node first, the others after).
        mailers = mailers.map((m, i) => {
          const first = i % nodes.length;
          const urls = nodes.map((_, k) => nodes[(first + k) % nodes.length]!.url).join(',');
          void m.client.close();
          return {
            ...m,
            client: m.via.connect({
              serverUrl: urls,
              caPem,
              token: m.client.token,
              retries: 0,
              connections: LOAD_CONNECTIONS,
            }),
          };
        });
        const boxes = childProcesses(pool.pid).filter((c) =>
          c.args.some((a) => /box-main\.(ts|mjs)$/.test(a)),
        );
        const cpu = new CpuMeter(
          [
            { name: 'loadGenerator', pid: process.pid },
            ...nodes.map((n, i) => ({ name: `node${i + 1}`, pid: n.pid })),
            ...boxes.map((c) => ({ name: `${c.args.at(-2) ?? 'other'}Box`, pid: c.pid })),
            ...nodes.flatMap((n, i) =>
              childProcesses(n.pid)
                .filter((c) => c.args.some((a) => /box-main\.(ts|mjs)$/.test(a)))
                .map((c) => ({ name: `node${i + 1}${c.args.at(-2) ?? 'other'}Box`, pid: c.pid })),
            ),
          ],
          nodes[0]!.pid,
        );
        const run = await closedLoop(
          mailers,
          options.perMailer,
          options.quick ? 1500 : 4000,
          measureMs,
          cpu,
        );
        const sorted = [...run.latencies].sort((a, b) => a - b);
        const figure: PoolFigure = {
          ...setup,
          txPerSec: round(run.done / (measureMs / 1000), 1),
          p50Ms: round(percentile(sorted, 50)),
          p99Ms: round(percentile(sorted, 99)),
          errors: run.errors,
          cpuMsPerTx: run.cpu,
        };
        figures.push(figure);
        options.say(
          `  pool ${setup.shards} shard${setup.shards > 1 ? 's' : ''}, ${setup.nodes} node${setup.nodes > 1 ? 's' : ''}, ${setup.database}: ${figure.txPerSec} tx/s, p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms${Object.keys(run.errors).length ? `, errors ${JSON.stringify(run.errors)}` : ''}`,
        );
        if (run.cpu)
          options.say(
            `    CPU ms per transaction: ${Object.entries(run.cpu)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
          );
      } finally {
        await closeMailers(mailers);
        for (const p of procs.reverse()) await p.stop();
        await rm(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await postgres?.stop();
  }
  return figures;
}
