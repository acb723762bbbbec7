/**
 * @module boxes/pool
 * The box pool (`vpm datacenter boxes start`): the stateful boxes several API nodes share, each
 * its own process reached over the channel (channel.ts), as a data center reaches network HSMs
 * (DESIGN.md "Engines, not home-made scale"). It runs the steel box (serial numbers are handed
 * out once, whatever node asks) and N meter-box shards, shard i owning the meters whose serial
 * hashes to i (box-types.ts shardOfSerial), each with its own NVM under DIR/boxes/<shard>/.
 *
 * Growth: started with more shards than before (DIR/boxes/pool.json), the first shard provisions
 * the new shards' NVM, then every meter whose owner changes is handed over before any shard
 * listens: the old shard seals the meter's NVM entry for the new one and stops serving it (a
 * tombstone, durable before it answers), the sealed entry is journaled in DIR/boxes/handover.log
 * (fsync), the new shard imports it, and the journal notes it. A pool killed mid-way finishes the
 * journaled hand-overs at its next start. Two shards never serve one meter.
 *
 * Supervision: a box that dies (kill -9) is started again at once, unlocked by a running sibling
 * (rewrap), and listens again; until then nodes get BOX_UNAVAILABLE for its meters only.
 */
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { BoxError } from './api';
import { BoxProcess, type Unlocker } from './box-process';
import { shardName, shardOfSerial, type ProcessName } from './box-types';
import { socketPath } from './channel';
import { combineShares, CustodyError } from './custody';
import { sealToBox, type SealedKey } from './key-transport';
import { atomicWrite } from './nvm';
import type { PoolState } from './pool-growth';
import { shareInputs, type ShareInput } from './index';

export const POOL_FILE = 'pool.json';
export const HANDOVER_LOG = 'handover.log';
export const MAX_SHARDS = 64;

export interface PoolOptions {
  shares: readonly ShareInput[];
  /** Where the boxes listen (mode 0700; SOCKETDIR/<box>.sock) and pool.json tells nodes the count. */
  socketDir: string;
  shards: number;
  /** The box entry script (tests only). */
  entry?: string;
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  /** Tests only: stop the start as a crash would, after the first export or its journal line. */
  crashAfter?: 'export' | 'journal';
}

export interface RunningPool {
  socketDir: string;
  shards: number;
  /** Meters handed over at this start. */
  handedOver: number;
  pids(): Record<string, number | undefined>;
  process(name: ProcessName): BoxProcess;
  /** Resolves once the named box serves again after a restart (tests). */
  ready(name: ProcessName): Promise<void>;
  close(): Promise<void>;
}

interface HandoverLine {
  step: 'exported' | 'imported';
  serial: string;
  from: string;
  to: string;
  sealed?: string;
  at: string;
}

/** What the socket directory tells nodes: how many shards (the routing rule's modulus). */
export interface PoolInfo {
  v: 1;
  shards: number;
}

export function readPoolInfo(dir: string): PoolInfo | undefined {
  const path = join(dir, POOL_FILE);
  if (!existsSync(path)) return undefined;
  const info = JSON.parse(readFileSync(path, 'utf8')) as PoolInfo;
  if (info.v !== 1 || !Number.isInteger(info.shards) || info.shards < 1)
    throw new Error(`box pool: ${path} is not a pool description`);
  return info;
}

function appendDurably(path: string, line: HandoverLine): void {
  appendFileSync(path, `${JSON.stringify(line)}\n`, { mode: 0o600 });
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Starts the pool: boxes unlocked by a quorum of shares, hand-overs done, every box listening. */
export async function startPool(dataDir: string, opts: PoolOptions): Promise<RunningPool> {
  const boxesDir = join(dataDir, 'boxes');
  if (!existsSync(boxesDir))
    throw new BoxError('BOX_UNAVAILABLE', `box pool: ${boxesDir} does not exist: run init first`);
  if (!Number.isInteger(opts.shards) || opts.shards < 1 || opts.shards > MAX_SHARDS)
    throw new Error(`box pool: --shards must be a whole number from 1 to ${MAX_SHARDS}`);
  const before = readPoolInfo(boxesDir)?.shards ?? 1;
  if (opts.shards < before)
    throw new Error(
      `box pool: it has ${before} shards; a pool does not shrink (meters live in every shard): start it with --shards ${before} or more`,
    );
  if (!opts.shares.length)
    throw new CustodyError(
      'SHARES_INSUFFICIENT',
      'custody: no custodian shares given; the pool starts only with a quorum of shares',
      { valid: 0, rejected: [] },
    );
  const domainKey = await combineShares(dataDir, shareInputs(opts.shares));
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  mkdirSync(opts.socketDir, { recursive: true, mode: 0o700 });
  const names: ProcessName[] = [
    'steel',
    ...Array.from({ length: opts.shards }, (_, i) => shardName(i)),
  ];
  const procs = new Map<ProcessName, BoxProcess>();
  const fromKey =
    (name: ProcessName): Unlocker =>
    (hello) => {
      const sealed = sealToBox(hello.unlockKey, name, domainKey);
      if (!sealed) throw new BoxError('BAD_REQUEST', `box ${name}: announced no X25519 key`, name);
      return sealed;
    };
  const fromSibling =
    (name: ProcessName): Unlocker =>
    async (hello) => {
      for (const [other, proc] of procs) {
        if (other === name || proc.pid === undefined) continue;
        try {
          return await proc.call<SealedKey>('rewrap', { publicKey: hello.unlockKey, box: name });
        } catch {
          // down or tampered: try the next
        }
      }
      throw new BoxError('BOX_UNAVAILABLE', `box ${name}: no running box can pass it the key`);
    };
  const boxProcess = (name: ProcessName, unlock: Unlocker) =>
    new BoxProcess(name, dataDir, {
      unlock,
      entry: opts.entry,
      log: opts.log,
      readyTimeoutMs: opts.readyTimeoutMs,
    });
  const listen = (name: ProcessName) =>
    procs
      .get(name)!
      .call('listen', { path: socketPath(opts.socketDir, name), shards: opts.shards });
  let handedOver = 0;
  try {
    for (const name of ['steel', 'meter'] as const)
      procs.set(name, boxProcess(name, fromKey(name)));
    await Promise.all([...procs.values()].map((p) => p.start()));
    const others = names.filter((n) => n.startsWith('meter-'));
    const existing = others.filter((n) => existsSync(join(boxesDir, n, 'keys.json')));
    for (const name of existing) procs.set(name, boxProcess(name, fromKey(name)));
    await Promise.all(existing.map((n) => procs.get(n)!.start()));
    await agreeOnCount(procs, existing, opts.shards, log);
    const fresh = others.filter((n) => !existing.includes(n));
    for (const name of fresh) {
      await procs.get('meter')!.call('provisionShard', { box: name });
      procs.set(name, boxProcess(name, fromKey(name)));
    }
    await Promise.all(fresh.map((n) => procs.get(n)!.start()));
    handedOver = await handOver(boxesDir, procs, before, opts.shards, log, opts.crashAfter);
    await Promise.all(names.map(listen));
  } catch (error) {
    for (const p of procs.values()) p.kill('SIGKILL');
    await Promise.all([...procs.values()].map((p) => p.stop()));
    throw error;
  } finally {
    domainKey.fill(0); // from here on the key lives only in the boxes
  }
  atomicWrite(boxesDir, POOL_FILE, `${JSON.stringify({ v: 1, shards: opts.shards })}\n`);
  atomicWrite(opts.socketDir, POOL_FILE, `${JSON.stringify({ v: 1, shards: opts.shards })}\n`);

  let closing = false;
  const restarting = new Map<ProcessName, Promise<void>>();
  const supervise = (name: ProcessName): void => {
    const proc = procs.get(name)!;
    void proc.whenExited().then(() => {
      if (closing || procs.get(name) !== proc) return;
      log(`box pool: ${name} exited; starting it again`);
      const restart = (async () => {
        for (let attempt = 1; !closing; attempt++) {
          const next = boxProcess(name, fromSibling(name));
          procs.set(name, next);
          try {
            await next.start();
            await listen(name);
            supervise(name);
            log(`box pool: ${name} serves again`);
            return;
          } catch (error) {
            log(`box pool: ${name} did not restart (${(error as Error).message})`);
            await next.stop();
            await new Promise((r) => setTimeout(r, Math.min(5000, 200 * attempt)));
          }
        }
      })().finally(() => restarting.delete(name));
      restarting.set(name, restart);
    });
  };
  for (const name of names) supervise(name);
  return {
    socketDir: opts.socketDir,
    shards: opts.shards,
    handedOver,
    pids: () => Object.fromEntries([...procs].map(([n, p]) => [n, p.pid])),
    process: (name) => procs.get(name)!,
    async ready(name) {
      for (;;) {
        await new Promise((r) => setImmediate(r));
        const pending = restarting.get(name);
        if (pending) await pending;
        else if (procs.get(name)?.pid !== undefined) return;
        else await new Promise((r) => setTimeout(r, 20));
      }
    },
    async close() {
      closing = true;
      await Promise.all([...procs.values()].map((p) => p.stop()));
    },
  };
}

/**
 * Makes every shard's NVM count `shards` (pool-growth.ts): the first shard prepares, every other
 * shard that exists acks (and takes no unused meter from then on), the first shard commits, and
 * the others join. Started again with the same count, it only confirms it.
 */
async function agreeOnCount(
  procs: Map<ProcessName, BoxProcess>,
  existing: readonly ProcessName[],
  shards: number,
  log: (line: string) => void,
): Promise<void> {
  if (shards === 1) return;
  const first = procs.get('meter')!;
  const state = await first.call<PoolState>('poolStatus', {});
  let committed: string;
  if (state.count === shards && state.pending === undefined) {
    ({ committed } = await first.call<{ committed: string }>('poolCommit', {
      to: shards,
      acks: {},
    }));
  } else {
    const { prepared, from } = await first.call<{ prepared: string; from: number }>('poolPrepare', {
      to: shards,
    });
    const acks: Record<string, string> = {};
    for (const name of existing)
      acks[name] = (
        await procs.get(name)!.call<{ ack: string }>('poolAck', { to: shards, prepared })
      ).ack;
    ({ committed } = await first.call<{ committed: string }>('poolCommit', { to: shards, acks }));
    log(`box pool: the meter shards agreed to grow from ${from} to ${shards}`);
  }
  for (const name of existing) await procs.get(name)!.call('poolJoin', { to: shards, committed });
}

/**
 * Moves each meter whose shard changes from `before` to `after` shards, through the journal;
 * first finishes the hand-overs a previous start journaled but did not complete.
 */
async function handOver(
  boxesDir: string,
  procs: Map<ProcessName, BoxProcess>,
  before: number,
  after: number,
  log: (line: string) => void,
  crashAfter?: 'export' | 'journal',
): Promise<number> {
  const journal = join(boxesDir, HANDOVER_LOG);
  const shard = (name: string) => {
    const proc = procs.get(name as ProcessName);
    if (!proc) throw new Error(`box pool: the hand-over journal names shard ${name}, not started`);
    return proc;
  };
  const open = new Map<string, HandoverLine>();
  const imported = new Set<string>();
  const pair = (line: Pick<HandoverLine, 'serial' | 'from' | 'to'>) =>
    `${line.serial}|${line.from}|${line.to}`;
  if (existsSync(journal))
    for (const text of readFileSync(journal, 'utf8').split('\n')) {
      if (!text) continue;
      const line = JSON.parse(text) as HandoverLine;
      if (line.step === 'exported') open.set(line.serial, line);
      else {
        open.delete(line.serial);
        imported.add(pair(line));
      }
    }
  const importOne = async (line: HandoverLine) => {
    await shard(line.to).call('importMeter', {
      serial: line.serial,
      from: line.from,
      sealed: line.sealed,
    });
    appendDurably(journal, { ...line, step: 'imported', sealed: undefined, at: now() });
  };
  /** Export (the old shard stops serving it), journal, import. */
  const moveOne = async (serial: string, from: string, to: string) => {
    const { sealed } = await shard(from).call<{ sealed: string }>('exportMeter', { serial, to });
    if (crashAfter === 'export') throw new Error('box pool: test crash after an export');
    const line: HandoverLine = { step: 'exported', serial, from, to, sealed, at: now() };
    appendDurably(journal, line);
    if (crashAfter === 'journal') throw new Error('box pool: test crash after a journal line');
    await importOne(line);
  };
  for (const line of open.values()) {
    log(`box pool: finishing the hand-over of meter ${line.serial} to ${line.to}`);
    await importOne(line);
  }
  let moved = 0;
  for (let i = 0; i < Math.min(before, after); i++) {
    const from = shardName(i);
    const listed = await shard(from).call<{
      serials: string[];
      handedOver: { serial: string; to: string }[];
    }>('listMeters', {});
    // Handed over, but the pool stopped before it journaled the sealed entry: export it again
    // (the old shard answers the same state) and finish.
    for (const { serial, to } of listed.handedOver)
      if (!imported.has(pair({ serial, from, to })) && !open.has(serial)) {
        log(`box pool: finishing the hand-over of meter ${serial} to ${to} (not journaled)`);
        await moveOne(serial, from, to);
      }
    if (after === before) continue;
    for (const serial of listed.serials) {
      const target = shardOfSerial(serial, after);
      if (target === i) continue;
      await moveOne(serial, from, shardName(target));
      moved++;
    }
  }
  if (after === before) return moved;
  log(`box pool: grew from ${before} to ${after} meter shards; ${moved} meters handed over`);
  return moved;
}

const now = (): string => new Date().toISOString();
