/**
 * @module bench/benchmark
 * The data center's benchmark (issue 9; DESIGN.md "Performance targets"): a data center on
 * loopback (its own process, file database, real box processes, TLS) driven by concurrent undici
 * clients dispensing postage across many meters — closed loop for the peak rate and latency, then
 * open loop at half that rate for the latency goal — beside the raw one-core ECDSA P-256 signing
 * rate and the raw durable SQLite commit rate of the same machine, measured in the same run.
 * Then the client's figures (bench/client-figures.ts): Data Matrix encoding per symbol beside
 * `zint`, and `vpm batch` of 1,000 and 10,000 pieces against the same data center.
 */
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { initDataCenter } from '../server-mock/index';
import { cliStartup, type CliStartup } from './cli-startup';
import { clientFigures, type ClientFigures } from './client-figures';
import { childProcesses, CpuMeter } from './cpu-time';
import {
  floorOf,
  startHttpsFloor,
  type FloorServer,
  type FloorSlice,
  type HttpsFloor,
} from './https-floor';
import { poolFigures, type PoolFigure } from './pool-figures';
import { storageEngineFigures, type StorageEngineFigures } from './storage-engines';
import {
  closeMailers,
  LOAD_CONNECTIONS,
  makeMailers,
  readCa,
  sleep,
  spawnDataCenter,
  spec,
  type Mailer,
} from './harness';
import type { BenchClient } from './mailer-client';

export interface BenchmarkOptions {
  /** Finishes within two minutes. */
  quick?: boolean;
  /** Prints only the JSON object. */
  json?: boolean;
  log?: (line: string) => void;
  /** Writes V8 CPU profiles of the data center and its box processes here (node --cpu-prof). */
  profileDir?: string;
  /** Only the client's figures (encoders and batches), against a data center that is not loaded. */
  clientOnly?: boolean;
  /** Only the start-up of `vpm --help` and `vpm balance` beside `node -e 0`. */
  cliOnly?: boolean;
  /** Only the data center's figures (peak, half load, floor, pool, engines): no client, no CLI. */
  datacenterOnly?: boolean;
  /** With datacenterOnly: the single node alone (peak, half load, floor); no pool, no engines. */
  singleNodeOnly?: boolean;
  /** Offered rates (tx/s) measured after the half load, each like it: latency and CPU per transaction. */
  rates?: number[];
  /**
   * Also the design's skeleton (skeleton-server.mjs) at the half load's rate and at each of
   * `rates`, right after the bare-HTTPS server: the work of a dispense without the product's
   * framework, driven by the same load generator.
   */
  skeleton?: boolean;
}

/** Latency and CPU per transaction at one offered rate (open loop, like the half load). */
export interface RateFigure {
  offeredTxPerSec: number;
  p50Ms: number;
  p99Ms: number;
  cpuMsPerTx: Record<string, number> | null;
  coresBusy: number | null;
  errors: Record<string, number>;
  /** The bare-HTTPS floor server driven at the same rate by the same load generator. */
  httpsFloor: BareAtRate;
  /** With `skeleton`: the design's skeleton at the same rate. */
  skeleton?: BareAtRate;
}

/** The bare-HTTPS floor server at an offered rate: what the host gives a request with no work behind it. */
export interface BareAtRate {
  p50Ms: number;
  p99Ms: number;
  cpuMsPerReq: number | null;
}

export interface BenchmarkResult {
  /** null in a client-only run. */
  datacenter: {
    txPerSec: number;
    p50Ms: number;
    p95Ms: number;
    p99Ms: number;
    ecdsaSignPerSec: number;
    sqliteCommitPerSec: number;
    /** p99 with the offered load at half of txPerSec (the issue's latency goal). */
    p99MsAtHalfLoad: number;
    /** txPerSec / ecdsaSignPerSec and txPerSec / sqliteCommitPerSec. */
    ratioToEcdsa: number;
    ratioToSqlite: number;
    mailers: number;
    inFlight: number;
    errors: Record<string, number>;
    /**
     * CPU ms per transaction at peak, by process (null where /proc is missing): the load
     * generator, the data center (all threads; its event loop also on its own) and each box.
     */
    cpuMsPerTx: Record<string, number> | null;
    /**
     * The same at half load: a transaction costs more there than at the peak, where every
     * wake-up, fsync and message carries many of them.
     */
    cpuMsPerTxAtHalfLoad: Record<string, number> | null;
    /** Cores the measured processes keep busy at half load (of availableParallelism()). */
    coresBusyAtHalfLoad: number | null;
    /**
     * The bare-HTTPS floor server at the half load's rate, right after it, by the same load
     * generator: the p99 this host gives a request with no work behind it at that rate.
     */
    httpsFloorAtHalfLoad: BareAtRate;
    /** With `skeleton`: the design's skeleton at the half load's rate. */
    skeletonAtHalfLoad?: BareAtRate;
    /** The same at each rate asked for with `rates` (empty without). */
    atRates: RateFigure[];
    /** The same load against a bare HTTPS server that does no work: the transport's own cost. */
    httpsFloor: HttpsFloor;
    /** txPerSec / httpsFloor.reqPerSec (issue 17's goal: at least one third). */
    ratioToHttpsFloor: number;
    /**
     * The same load on a box pool: 1 and 2 meter shards, 1 and 2 API nodes (docs/nodes.md);
     * empty with --single-node.
     */
    pool: PoolFigure[];
    /** One node on SQLite and on PostgreSQL, the same smaller load on each (issue 17); null with --single-node. */
    engines: StorageEngineFigures | null;
  } | null;
  /** null in a `--cli` run. */
  client: ClientFigures | null;
  /** `vpm --help` and `vpm balance` start-up beside `node -e 0` (issue 18); null with --datacenter. */
  cli: CliStartup | null;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** One core signing as fast as it can: what every postage transaction must do at least once. */
export function ecdsaSignRate(durationMs: number): number {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const payload = randomBytes(82);
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < durationMs) {
    for (let i = 0; i < 50; i++)
      sign('sha256', payload, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    n += 50;
    now = performance.now();
  }
  return n / ((now - start) / 1000);
}

/** Durable commits per second: WAL, synchronous=FULL, one small insert per transaction. */
export async function sqliteCommitRate(durationMs: number): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'vpm-bench-sql-'));
  const db = new Database(join(dir, 'commit.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO t (v) VALUES (?)');
    const value = randomBytes(64);
    let n = 0;
    const start = performance.now();
    let now = start;
    while (now - start < durationMs) {
      db.exec('BEGIN IMMEDIATE');
      insert.run(value);
      db.exec('COMMIT');
      n++;
      now = performance.now();
    }
    return n / ((now - start) / 1000);
  } finally {
    db.close();
    await rm(dir, { recursive: true, force: true });
  }
}

interface Phase {
  latencies: number[];
  done: number;
  seconds: number;
  errors: Record<string, number>;
}

/** What an open loop sends through: an API client and the parts it came from. */
type Sender = Pick<Mailer, 'client' | 'via'>;

async function dispenseOnce(mailer: Sender, phase: Phase, record: boolean): Promise<void> {
  const start = performance.now();
  try {
    await mailer.client.dispense({ pieces: [spec(1 + Math.floor(Math.random() * 60))] });
    if (record) {
      phase.latencies.push(performance.now() - start);
      phase.done++;
    }
  } catch (error) {
    const code = mailer.via.errorCode(error) ?? 'THROWN';
    phase.errors[code] = (phase.errors[code] ?? 0) + 1;
  }
}

/** A phase with the CPU ms per transaction of each measured process over its window. */
type MeteredPhase = Phase & { cpuMsPerTx: Record<string, number> | null };

/**
 * Reads `cpu` over the window from `warmupMs` to `warmupMs + measureMs` from now, per transaction
 * of `phase`; the returned function, called once the phase is over, gives the figures.
 */
function cpuWindow(
  cpu: CpuMeter | undefined,
  phase: Phase,
  warmupMs: number,
  measureMs: number,
): () => Record<string, number> | null {
  let perTx: Record<string, number> | null = null;
  let state: 'before' | 'reading' | 'read' = 'before';
  const finish = () => {
    if (state === 'reading') perTx = cpu?.end(phase.done) ?? null;
    state = 'read';
  };
  const begin = setTimeout(() => {
    cpu?.begin();
    state = 'reading';
  }, warmupMs);
  const end = setTimeout(finish, warmupMs + measureMs);
  return () => {
    // At a low rate the last answer can come before the window's end: the window ends here.
    clearTimeout(begin);
    clearTimeout(end);
    finish();
    return perTx;
  };
}

/** Closed loop: `perMailer` requests always in flight per meter; measures after a warm-up. */
export async function closedLoop(
  mailers: Mailer[],
  perMailer: number,
  warmupMs: number,
  measureMs: number,
  cpu?: CpuMeter,
): Promise<MeteredPhase> {
  const phase: Phase = { latencies: [], done: 0, seconds: measureMs / 1000, errors: {} };
  const t0 = performance.now();
  const from = t0 + warmupMs;
  const until = from + measureMs;
  const cpuMsPerTx = cpuWindow(cpu, phase, warmupMs, measureMs);
  const worker = async (m: Mailer) => {
    for (;;) {
      const now = performance.now();
      if (now >= until) return;
      await dispenseOnce(m, phase, now >= from);
    }
  };
  await Promise.all(mailers.flatMap((m) => Array.from({ length: perMailer }, () => worker(m))));
  return { ...phase, cpuMsPerTx: cpuMsPerTx() };
}

/** The peak and the floor are measured in this many slices, in turn. */
const ROUNDS = 3;

/** Slices of the closed loop taken together: their answers, seconds and CPU per transaction. */
function mergePeaks(slices: MeteredPhase[]): MeteredPhase {
  const done = slices.reduce((n, s) => n + s.done, 0);
  const errors: Record<string, number> = {};
  for (const s of slices)
    for (const [k, v] of Object.entries(s.errors)) errors[k] = (errors[k] ?? 0) + v;
  let cpuMsPerTx: Record<string, number> | null = null;
  if (slices.every((s) => s.cpuMsPerTx) && done > 0) {
    cpuMsPerTx = {};
    for (const s of slices)
      for (const [k, v] of Object.entries(s.cpuMsPerTx as Record<string, number>))
        cpuMsPerTx[k] = (cpuMsPerTx[k] ?? 0) + (v * s.done) / done;
    for (const k of Object.keys(cpuMsPerTx)) cpuMsPerTx[k] = Number(cpuMsPerTx[k]!.toFixed(3));
  }
  return {
    latencies: slices.flatMap((s) => s.latencies),
    done,
    seconds: slices.reduce((n, s) => n + s.seconds, 0),
    errors,
    cpuMsPerTx,
  };
}

/** CPU ms per transaction of all the measured processes (the event loop is part of dataCenter). */
function totalCpuMs(cpuMsPerTx: Record<string, number>): number {
  let ms = 0;
  for (const [name, perTx] of Object.entries(cpuMsPerTx))
    if (name !== 'dataCenterEventLoop') ms += perTx;
  return ms;
}

/** Cores kept busy by the measured processes at `txPerSec`. */
function busyCores(cpuMsPerTx: Record<string, number>, txPerSec: number): number {
  return Number(((totalCpuMs(cpuMsPerTx) * txPerSec) / 1000).toFixed(2));
}

/** "name ms, name ms, …" of CPU ms per transaction by process. */
const cpuText = (cpuMsPerTx: Record<string, number>): string =>
  Object.entries(cpuMsPerTx)
    .map(([name, ms]) => `${name} ${ms}`)
    .join(', ');

/** A phase's latencies, in ascending order (for percentile()). */
const sortedLatencies = (phase: Phase): number[] => [...phase.latencies].sort((a, b) => a - b);

/**
 * Open loop: requests arrive at `rate` per second whatever the answers do. Latencies count from
 * `warmupMs` on: the first moments after the peak still carry its backlog (the write-ahead log
 * being copied back, heaps grown at the peak). Requests in flight are counted, not kept, so the
 * load generator's own heap stays small: its collections would show up as the data center's
 * latency.
 */
async function openLoop(
  mailers: Sender[],
  rate: number,
  warmupMs: number,
  measureMs: number,
  cpu?: CpuMeter,
): Promise<MeteredPhase> {
  const phase: Phase = { latencies: [], done: 0, seconds: measureMs / 1000, errors: {} };
  const cpuMsPerTx = cpuWindow(cpu, phase, warmupMs, measureMs);
  const interval = 1000 / rate;
  const start = performance.now();
  let inFlight = 0;
  let allSettled = (): void => undefined;
  const settle = () => {
    if (--inFlight === 0) allSettled();
  };
  for (let i = 0; ; i++) {
    const due = start + i * interval;
    if (due - start >= warmupMs + measureMs) break;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    inFlight++;
    void dispenseOnce(mailers[i % mailers.length] as Sender, phase, due - start >= warmupMs).then(
      settle,
    );
  }
  if (inFlight > 0) await new Promise<void>((resolve) => (allSettled = resolve));
  return { ...phase, cpuMsPerTx: cpuMsPerTx() };
}

/** What the rate phases need of the run: the mailers, the floor server and its clients, the meters. */
interface RateRun {
  mailers: Mailer[];
  floorServer: FloorServer;
  /** With `skeleton`: the design's skeleton, driven as the floor server is. */
  skeletonServer?: FloorServer;
  parts: BenchClient;
  cpu: CpuMeter;
  quick: boolean;
  say: (line: string) => void;
}

/** The bare-HTTPS server (or `server`) driven at `rate` by the same load generator, as an open loop. */
function bareAtRate(
  run: RateRun,
  server: FloorServer = run.floorServer,
): (rate: number) => Promise<BareAtRate> {
  const floorSenders: Sender[] = server.clients.map((client) => ({
    client,
    via: run.parts,
  }));
  const floorCpu = new CpuMeter([
    { name: 'loadGenerator', pid: process.pid },
    ...server.pids.map((pid, i) => ({ name: `server${i}`, pid })),
  ]);
  const [warmupMs, measureMs] = phaseMs(run.quick);
  return async (rate) => {
    const bare = await openLoop(floorSenders, rate, warmupMs, measureMs, floorCpu);
    const bareMs = sortedLatencies(bare);
    return {
      p50Ms: round(percentile(bareMs, 50)),
      p99Ms: round(percentile(bareMs, 99)),
      cpuMsPerReq: bare.cpuMsPerTx ? round(totalCpuMs(bare.cpuMsPerTx), 3) : null,
    };
  };
}

/** An open-loop phase's warm-up and measured time. */
const phaseMs = (quick: boolean): [number, number] => (quick ? [2000, 6000] : [5000, 15_000]);

/**
 * `rates` after the half load: at each, the data center's open loop, then the bare-HTTPS server
 * driven at the same rate by the same load generator (what a request costs at that rate with no
 * work behind it).
 */
async function rateFigures(rates: number[], run: RateRun): Promise<RateFigure[]> {
  const bare = bareAtRate(run);
  const skeleton = run.skeletonServer && bareAtRate(run, run.skeletonServer);
  const [warmupMs, measureMs] = phaseMs(run.quick);
  const figures: RateFigure[] = [];
  for (const rate of rates) {
    const phase = await openLoop(run.mailers, rate, warmupMs, measureMs, run.cpu);
    const ms = sortedLatencies(phase);
    const figure: RateFigure = {
      offeredTxPerSec: rate,
      p50Ms: round(percentile(ms, 50)),
      p99Ms: round(percentile(ms, 99)),
      cpuMsPerTx: phase.cpuMsPerTx,
      coresBusy: phase.cpuMsPerTx ? busyCores(phase.cpuMsPerTx, rate) : null,
      errors: phase.errors,
      httpsFloor: await bare(rate),
    };
    if (skeleton) figure.skeleton = await skeleton(rate);
    figures.push(figure);
    run.say(
      `  at ${rate} tx/s offered: p50 ${figure.p50Ms} ms, p99 ${figure.p99Ms} ms; CPU ms per transaction: ${cpuText(figure.cpuMsPerTx ?? {})}; ${figure.coresBusy} of ${availableParallelism()} cores busy; ${bareText(figure.httpsFloor)}${figure.skeleton ? `; ${skeletonText(figure.skeleton)}` : ''}`,
    );
  }
  return figures;
}

const atRateText = (b: BareAtRate) =>
  `p50 ${b.p50Ms} ms, p99 ${b.p99Ms} ms, ${b.cpuMsPerReq} CPU ms per request (client + server)`;
const bareText = (b: BareAtRate) => `bare HTTPS at that rate: ${atRateText(b)}`;
const skeletonText = (b: BareAtRate) => `the design's skeleton at that rate: ${atRateText(b)}`;

/**
 * Runs the whole benchmark and returns (and prints) the issue's JSON object. `parts`: the client
 * parts it drives, handed in by the composition root (app/bench-client.ts).
 */
export async function runBenchmark(
  parts: BenchClient,
  options: BenchmarkOptions = {},
): Promise<BenchmarkResult> {
  const quick = options.quick ?? false;
  const print = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const say = (line: string) => {
    if (!options.json) print(line);
  };
  const mailerCount = quick ? 64 : 128;
  const perMailer = 2;
  const measureMs = quick ? 12_000 : 30_000;

  const only = options.clientOnly || options.cliOnly;
  if (!only) say('Raw rates of this machine (one core):');
  const ecdsa = only ? 0 : ecdsaSignRate(quick ? 1500 : 4000);
  if (!only) say(`  ECDSA P-256 sign          ${ecdsa.toFixed(0)} /s`);
  const sqlite = only ? 0 : await sqliteCommitRate(quick ? 1500 : 4000);
  if (!only) say(`  SQLite durable commit     ${sqlite.toFixed(0)} /s  (WAL, synchronous=FULL)`);

  const dir = await mkdtemp(join(tmpdir(), 'vpm-bench-dc-'));
  let dc: Awaited<ReturnType<typeof spawnDataCenter>> | undefined;
  let mailers: Mailer[] = [];
  try {
    const { shares } = await initDataCenter(dir);
    const caPem = await readCa(dir);
    if (options.profileDir) process.env.VPM_BOX_CPU_PROF_DIR = options.profileDir;
    try {
      dc = await spawnDataCenter(dir, {
        shares,
        execArgv: options.profileDir ? ['--cpu-prof', `--cpu-prof-dir=${options.profileDir}`] : [],
      });
    } finally {
      delete process.env.VPM_BOX_CPU_PROF_DIR;
    }
    say(`Data center at ${dc.url} (own process, 4 box processes, SQLite WAL FULL, TLS)`);
    const caPath = join(dir, 'tls', 'ca.pem');
    if (options.cliOnly) {
      const cli = await cliStartup(parts, dc.url, caPath, { quick, say });
      if (options.json) print(JSON.stringify({ cli }));
      else say(JSON.stringify({ cli }, null, 2));
      return { datacenter: null, client: null, cli };
    }
    if (options.clientOnly) {
      say('Client:');
      const client = await clientFigures(parts, dc.url, caPath, {
        quick,
        say,
        dataCenterPid: dc.pid,
        ...(options.profileDir ? { profileDir: options.profileDir } : {}),
      });
      const cli = await cliStartup(parts, dc.url, caPath, { quick, say });
      if (options.json) print(JSON.stringify({ client, cli }));
      else say(JSON.stringify({ client, cli }, null, 2));
      return { datacenter: null, client, cli };
    }
    const groups = 8;
    for (let i = 0; i < mailerCount; i += groups) {
      const made = await Promise.all(
        Array.from({ length: Math.min(groups, mailerCount - i) }, (_, j) =>
          makeMailers(parts, dc!.url, caPem, 1, 10_000_000, `bench${i + j}`, LOAD_CONNECTIONS),
        ),
      );
      mailers.push(...made.flat());
    }
    say(`  ${mailerCount} mailers, ${perMailer} requests in flight each, 1 piece per request`);
    const cpu = new CpuMeter(
      [
        { name: 'loadGenerator', pid: process.pid },
        { name: 'dataCenter', pid: dc.pid },
        ...childProcesses(dc.pid)
          .filter((c) => c.args.some((a) => /box-main\.(ts|mjs)$/.test(a)))
          .map((c) => ({ name: `${c.args.at(-2) ?? 'other'}Box`, pid: c.pid })),
      ],
      dc.pid,
    );
    // The peak and the bare-HTTPS floor in turn, slice by slice: this host's speed drifts from
    // second to second, and a ratio of two figures taken a minute apart carried that drift.
    const floorServer = await startHttpsFloor(parts, dir, {
      connections: mailerCount,
      answerBytes: 700,
    });
    const inFlight = mailerCount * perMailer;
    const floorMs = quick ? 4000 : 10_000;
    const slices: { peak: MeteredPhase; floor: FloorSlice }[] = [];
    let peak: MeteredPhase;
    let floorSlices: FloorSlice[];
    try {
      for (let round = 0; round < ROUNDS; round++) {
        const first = round === 0;
        const peakSlice = await closedLoop(
          mailers,
          perMailer,
          // The first slice follows the mailers' sign-up: warmer before it than between slices.
          first ? (quick ? 4000 : 8000) : 500,
          measureMs / ROUNDS,
          cpu,
        );
        const floorSlice = await floorServer.measure(
          inFlight,
          first ? 1000 : 300,
          floorMs / ROUNDS,
        );
        slices.push({ peak: peakSlice, floor: floorSlice });
      }
      peak = mergePeaks(slices.map((s) => s.peak));
      floorSlices = slices.map((s) => s.floor);
    } catch (error) {
      await floorServer.close();
      throw error;
    }
    const sorted = sortedLatencies(peak);
    const txPerSec = peak.done / peak.seconds;
    say(
      `  peak: ${txPerSec.toFixed(0)} tx/s, p50 ${percentile(sorted, 50).toFixed(1)} ms, p95 ${percentile(sorted, 95).toFixed(1)} ms, p99 ${percentile(sorted, 99).toFixed(1)} ms`,
    );
    if (peak.cpuMsPerTx) say(`  CPU ms per transaction at peak: ${cpuText(peak.cpuMsPerTx)}`);
    const halfRate = Math.max(1, txPerSec / 2);
    const half = await openLoop(mailers, halfRate, ...phaseMs(quick), cpu);
    const halfSorted = sortedLatencies(half);
    say(
      `  at half load (${halfRate.toFixed(0)} tx/s offered, measured after ${quick ? 2 : 5} s of it): p50 ${percentile(halfSorted, 50).toFixed(1)} ms, p99 ${percentile(halfSorted, 99).toFixed(1)} ms`,
    );
    const halfBusy = half.cpuMsPerTx ? busyCores(half.cpuMsPerTx, halfRate) : null;
    if (half.cpuMsPerTx)
      say(
        `  CPU ms per transaction at half load: ${cpuText(half.cpuMsPerTx)}; ${halfBusy} of ${availableParallelism()} cores busy`,
      );
    let floor: HttpsFloor;
    let atRates: RateFigure[];
    let floorAtHalf: BareAtRate;
    let skeletonAtHalf: BareAtRate | undefined;
    let skeletonServer: FloorServer | undefined;
    try {
      if (options.skeleton)
        skeletonServer = await startHttpsFloor(parts, dir, {
          connections: mailerCount,
          answerBytes: 700,
          server: 'skeleton-server',
        });
      const run: RateRun = { mailers, floorServer, parts, cpu, quick, say };
      if (skeletonServer) run.skeletonServer = skeletonServer;
      floorAtHalf = await bareAtRate(run)(halfRate);
      say(`  ${bareText(floorAtHalf)}`);
      if (skeletonServer) {
        skeletonAtHalf = await bareAtRate(run, skeletonServer)(halfRate);
        say(`  ${skeletonText(skeletonAtHalf)}`);
      }
      atRates = await rateFigures(options.rates ?? [], run);
      const undici = floorOf([await floorServer.measureUndici(inFlight, 1000, floorMs)]);
      floor = { ...floorOf(floorSlices), undici };
    } finally {
      await floorServer.close();
      await skeletonServer?.close();
    }
    say(
      `  the same load on a bare HTTPS server (no work), measured in turn with the peak: ${floor.reqPerSec.toFixed(0)} req/s, ${floor.cpuMsPerReq ?? '?'} CPU ms per request (client + server); with undici as the client ${floor.undici?.reqPerSec.toFixed(0) ?? '?'} req/s, ${floor.undici?.cpuMsPerReq ?? '?'} CPU ms`,
    );
    const roundRatios = slices.map(
      (s) => s.peak.done / s.peak.seconds / (s.floor.requests / s.floor.seconds),
    );
    say(
      `  ratio to the bare-HTTPS floor: ${(txPerSec / floor.reqPerSec).toFixed(3)} (issue 17's goal ≥ 0.333; by round ${roundRatios.map((r) => r.toFixed(3)).join(', ')})`,
    );
    let pool: PoolFigure[] = [];
    let engines: StorageEngineFigures | null = null;
    if (!options.singleNodeOnly) {
      say('Box pool and API nodes (each on a fresh data directory):');
      pool = await poolFigures(parts, { quick, mailers: mailerCount, perMailer, say });
      // Each engine gets a data center of its own; the peak's sessions are no longer needed.
      await closeMailers(mailers);
      mailers = [];
      say('Storage engines, one node each, the same load:');
      engines = await storageEngineFigures(parts, closedLoop, {
        quick,
        sqliteCommitPerSec: sqlite,
        say,
      });
    }
    let client: ClientFigures | null = null;
    let cli: CliStartup | null = null;
    if (!options.datacenterOnly) {
      say('Client:');
      client = await clientFigures(parts, dc.url, caPath, {
        quick,
        say,
        dataCenterPid: dc.pid,
        ...(options.profileDir ? { profileDir: options.profileDir } : {}),
      });
      cli = await cliStartup(parts, dc.url, caPath, { quick, say });
    }
    const errors: Record<string, number> = { ...peak.errors };
    for (const phase of [half, ...atRates])
      for (const [k, v] of Object.entries(phase.errors)) errors[k] = (errors[k] ?? 0) + v;
    const datacenter = {
      txPerSec: round(txPerSec, 1),
      p50Ms: round(percentile(sorted, 50)),
      p95Ms: round(percentile(sorted, 95)),
      p99Ms: round(percentile(sorted, 99)),
      ecdsaSignPerSec: round(ecdsa, 0),
      sqliteCommitPerSec: round(sqlite, 0),
      p99MsAtHalfLoad: round(percentile(halfSorted, 99)),
      ratioToEcdsa: round(txPerSec / ecdsa, 3),
      ratioToSqlite: round(txPerSec / sqlite, 3),
      mailers: mailerCount,
      inFlight: mailerCount * perMailer,
      errors,
      cpuMsPerTx: peak.cpuMsPerTx,
      cpuMsPerTxAtHalfLoad: half.cpuMsPerTx,
      coresBusyAtHalfLoad: halfBusy,
      httpsFloorAtHalfLoad: floorAtHalf,
      ...(skeletonAtHalf ? { skeletonAtHalfLoad: skeletonAtHalf } : {}),
      atRates,
      httpsFloor: {
        reqPerSec: round(floor.reqPerSec, 0),
        cpuMsPerReq: floor.cpuMsPerReq,
        ...(floor.undici
          ? {
              undici: {
                reqPerSec: round(floor.undici.reqPerSec, 0),
                cpuMsPerReq: floor.undici.cpuMsPerReq,
              },
            }
          : {}),
      },
      ratioToHttpsFloor: round(txPerSec / floor.reqPerSec, 3),
      pool,
      engines,
    };
    const result: BenchmarkResult = { datacenter, client, cli };
    say(
      `  ratio to one-core ECDSA: ${datacenter.ratioToEcdsa} (goal ≥ 0.25); to SQLite commits: ${datacenter.ratioToSqlite}`,
    );
    if (options.json) print(JSON.stringify(result));
    else say(JSON.stringify(result, null, 2));
    return result;
  } finally {
    await closeMailers(mailers);
    mailers = [];
    await dc?.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
