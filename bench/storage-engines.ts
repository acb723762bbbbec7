/**
 * @module bench/storage-engines
 * The data center on each storage engine, one node, measured alike in the same run (issue 17):
 * SQLite in its data directory (WAL, synchronous=FULL, group commit on a writer thread) and
 * PostgreSQL 15 on this machine (fsync on, synchronous_commit on, a meter's advisory lock held
 * for each request) — the same load (closed loop) against a fresh data center on each, with the
 * CPU each process spends per transaction, beside each engine's raw durable commit rate.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { initDataCenter } from '../server-mock/index';
import { childProcesses, CpuMeter, processCpuMs } from './cpu-time';
import {
  closeMailers,
  LOAD_CONNECTIONS,
  makeMailers,
  readCa,
  spawnDataCenter,
  type Mailer,
} from './harness';
import type { BenchClient } from './mailer-client';
import { startPostgres } from './postgres-server';

export interface EngineFigures {
  txPerSec: number;
  p50Ms: number;
  p99Ms: number;
  /** Durable single-row commits per second of the engine alone, one connection. */
  rawCommitPerSec: number;
  cpuMsPerTx: Record<string, number> | null;
  errors: Record<string, number>;
}

export interface StorageEngineFigures {
  mailers: number;
  inFlight: number;
  sqlite: EngineFigures;
  /** null when this machine has no PostgreSQL 15 (`postgresMissing` says why). */
  postgres: EngineFigures | null;
  postgresMissing?: string;
}

/** The closed-loop measurement the benchmark runs (benchmark.ts), handed in. */
export type ClosedLoop = (
  mailers: Mailer[],
  perMailer: number,
  warmupMs: number,
  measureMs: number,
  cpu?: CpuMeter,
) => Promise<{
  latencies: number[];
  done: number;
  seconds: number;
  errors: Record<string, number>;
  cpuMsPerTx: Record<string, number> | null;
}>;

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** Durable commits per second on PostgreSQL: one small insert per transaction, one connection. */
async function postgresCommitRate(url: string, durationMs: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('CREATE TABLE bench_commit (id BIGSERIAL PRIMARY KEY, v BYTEA NOT NULL)');
    const value = randomBytes(64);
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < durationMs) {
      await client.query('BEGIN');
      await client.query('INSERT INTO bench_commit (v) VALUES ($1)', [value]);
      await client.query('COMMIT');
      n++;
      now = performance.now();
    }
    await client.query('DROP TABLE bench_commit');
    return n / ((now - start) / 1000);
  } finally {
    await client.end();
  }
}

/** One engine: a fresh data center on it, its mailers, the closed loop. */
async function measureEngine(
  parts: BenchClient,
  closedLoop: ClosedLoop,
  options: {
    database?: string;
    /** The PostgreSQL postmaster, whose CPU (with its backends') is counted as "postgres". */
    postmaster?: number;
    mailers: number;
    perMailer: number;
    warmupMs: number;
    measureMs: number;
    rawCommitPerSec: number;
  },
): Promise<EngineFigures> {
  const dir = await mkdtemp(join(tmpdir(), 'vpm-bench-engine-'));
  let dc: Awaited<ReturnType<typeof spawnDataCenter>> | undefined;
  let mailers: Mailer[] = [];
  try {
    const { shares } = await initDataCenter(dir, {
      ...(options.database ? { database: options.database } : {}),
    });
    dc = await spawnDataCenter(dir, {
      shares,
      ...(options.database ? { database: options.database } : {}),
    });
    const caPem = await readCa(dir);
    for (let i = 0; i < options.mailers; i += 8) {
      const made = await Promise.all(
        Array.from({ length: Math.min(8, options.mailers - i) }, (_, j) =>
          makeMailers(parts, dc!.url, caPem, 1, 10_000_000, `engine${i + j}`, LOAD_CONNECTIONS),
        ),
      );
      mailers.push(...made.flat());
    }
    const processes = [
      { name: 'loadGenerator', pid: process.pid },
      { name: 'dataCenter', pid: dc.pid },
      ...childProcesses(dc.pid)
        .filter((c) => c.args.some((a) => /box-main\.(ts|mjs)$/.test(a)))
        .map((c) => ({ name: `${c.args.at(-2) ?? 'other'}Box`, pid: c.pid })),
    ];
    const cpu =
      options.postmaster === undefined
        ? new CpuMeter(processes, dc.pid)
        : new WithPostgres(processes, dc.pid, options.postmaster);
    const run = await closedLoop(
      mailers,
      options.perMailer,
      options.warmupMs,
      options.measureMs,
      cpu,
    );
    const sorted = [...run.latencies].sort((a, b) => a - b);
    return {
      txPerSec: round(run.done / run.seconds, 1),
      p50Ms: round(percentile(sorted, 50)),
      p99Ms: round(percentile(sorted, 99)),
      rawCommitPerSec: round(options.rawCommitPerSec, 0),
      cpuMsPerTx: run.cpuMsPerTx,
      errors: run.errors,
    };
  } finally {
    await closeMailers(mailers);
    mailers = [];
    await dc?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

/** CPU ms of the PostgreSQL server: its postmaster and every backend, by pid. */
function postgresCpu(postmaster: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of [postmaster, ...childProcesses(postmaster).map((c) => c.pid)]) {
    const ms = processCpuMs(pid);
    if (ms !== null) out.set(pid, ms);
  }
  return out;
}

/** The data center's processes, and the PostgreSQL server's as one ("postgres"). */
class WithPostgres extends CpuMeter {
  private pgStart = new Map<number, number>();
  constructor(
    processes: { name: string; pid: number }[],
    dataCenterPid: number,
    private readonly postmaster: number,
  ) {
    super(processes, dataCenterPid);
  }

  override begin(): void {
    super.begin();
    this.pgStart = postgresCpu(this.postmaster);
  }

  override end(transactions: number): Record<string, number> | null {
    const out = super.end(transactions);
    if (!out) return out;
    let ms = 0;
    // A backend started during the phase counts from zero; one that ended is not seen.
    for (const [pid, now] of postgresCpu(this.postmaster)) ms += now - (this.pgStart.get(pid) ?? 0);
    out['postgres'] = Number((ms / transactions).toFixed(3));
    return out;
  }
}

/**
 * SQLite and PostgreSQL, one node each, the same load. `sqliteCommitPerSec` is the raw SQLite
 * rate the benchmark measured already.
 */
export async function storageEngineFigures(
  parts: BenchClient,
  closedLoop: ClosedLoop,
  options: {
    quick: boolean;
    sqliteCommitPerSec: number;
    say: (line: string) => void;
  },
): Promise<StorageEngineFigures> {
  const mailers = options.quick ? 16 : 32;
  const perMailer = 2;
  const common = {
    mailers,
    perMailer,
    warmupMs: options.quick ? 1500 : 3000,
    measureMs: options.quick ? 5000 : 12_000,
  };
  const sqlite = await measureEngine(parts, closedLoop, {
    ...common,
    rawCommitPerSec: options.sqliteCommitPerSec,
  });
  options.say(
    `  SQLite:     ${sqlite.txPerSec} tx/s, p50 ${sqlite.p50Ms} ms, p99 ${sqlite.p99Ms} ms (raw commits ${sqlite.rawCommitPerSec} /s)`,
  );
  let postgres: Awaited<ReturnType<typeof startPostgres>>;
  try {
    postgres = await startPostgres();
  } catch (error) {
    // The rest of the bench stands without it; the reason names the package to install.
    const why = error instanceof Error ? error.message.split('\n')[0] : String(error);
    options.say(`  PostgreSQL: not measured: ${why}`);
    return { mailers, inFlight: mailers * perMailer, sqlite, postgres: null, postgresMissing: why };
  }
  try {
    const url = await postgres.createDatabase();
    const raw = await postgresCommitRate(url, options.quick ? 1500 : 4000);
    const figures = await measureEngine(parts, closedLoop, {
      ...common,
      database: url,
      postmaster: postgres.pid(),
      rawCommitPerSec: raw,
    });
    options.say(
      `  PostgreSQL: ${figures.txPerSec} tx/s, p50 ${figures.p50Ms} ms, p99 ${figures.p99Ms} ms (raw commits ${figures.rawCommitPerSec} /s)`,
    );
    for (const [name, f] of [
      ['SQLite', sqlite],
      ['PostgreSQL', figures],
    ] as const)
      if (f.cpuMsPerTx)
        options.say(
          `    ${name} CPU ms per transaction: ${Object.entries(f.cpuMsPerTx)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        );
    return { mailers, inFlight: mailers * perMailer, sqlite, postgres: figures };
  } finally {
    await postgres.stop();
  }
}
