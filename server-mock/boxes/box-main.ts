/**
 * @module boxes/box-main
 * Entry point of one box process: `box-main.mjs <box> <dataDir>`, started by runtime/launch.ts (patent Fig. 2:
 * each box is its own secure co-processor). At power-up: the known-answer self-tests, then an
 * announcement frame (id 0): ready and locked, with an ephemeral X25519 public key, or why not.
 * The box then waits for its `unlock` frame: the domain key sealed to that public key
 * (key-transport.ts), by the data center at a start or by a running sibling box (`rewrap`) when
 * supervision restarts this one. Unlocked, it checks the key against custody.json, opens its NVM
 * (integrity check) and serves. The domain key lives only in the box's memory, zeroized on tamper
 * and on exit. A box that failed stays up and refuses every command with TAMPERED or
 * SELF_TEST_FAILED.
 * Group commit: frames that arrive together are run one after the other (check, then work), the
 * NVM changes of the whole batch are committed with one fsync, and only then are the answers
 * written. A tamper found while running zeroizes the keys. Test-only behaviours (clock, forced
 * self-test failure, pauses) come from box-hooks.ts, which only the test harness entry fills;
 * a production box reads no switch from its environment.
 */
import { join } from 'node:path';
import type { Server, TLSSocket } from 'node:tls';
import { BoxError, type BoxErrorCode } from './api';
import { testHooks } from './box-hooks';
import type { BoxContext, BoxProgram, BoxType } from './box-program';
import { boxTypeOf, isProcessName, shardIndexOf } from './box-types';
import { channelKey, listenChannel } from './channel';
import { isDomainKeyOf } from './custody';
import { openForBox, sealToBox, transportKeyPair, type TransportKeyPair } from './key-transport';
import { hkdf } from './crypto-kit';
import { POOL_COMMANDS, POOL_STATE_KEY, poolState, type PoolState } from './pool-growth';
import { Nvm, TamperError, boxFileKey, createNvm } from './nvm';
import {
  FrameReader,
  HELLO_ID,
  PROTOCOL_VERSION,
  encodeFrame,
  type AnswerFrame,
  type FrameEvent,
  type RequestFrame,
} from './protocol';
import { runSelfTests } from './self-test';
import * as v from './validate';
import { readParentInput } from '../../runtime/child-input';

const [name = '', dataDir = ''] = process.argv.slice(2);
const log = (message: string): void => {
  process.stderr.write(`${message}\n`);
};

if (!isProcessName(name) || dataDir === '') {
  log(`box-main: usage: box-main <meter|meter-N|steel|auth|txn> <dataDir>`);
  process.exit(64);
}

const clock = testHooks.clock;
const now = (): Date => (clock ? new Date(clock) : new Date());
const pausePoint = testHooks.pause;

let failure: { code: BoxErrorCode; message: string } | undefined;
let nvm: Nvm | undefined;
let program: BoxProgram | undefined;
let context: BoxContext | undefined;
/** The channel server once the pool told this box to listen (pooled boxes only). */
let channel: Server | undefined;
let boxType: BoxType | undefined;
/** The box's transport key pair while it waits for its unlock frame. */
let transport: TransportKeyPair | undefined;
/** The domain key, in this process's memory only, once unlocked. */
let domainKey: Buffer | undefined;

function zeroizeDomainKey(): void {
  domainKey?.fill(0);
  domainKey = undefined;
  transport = undefined;
}
process.on('exit', zeroizeDomainKey);
for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const)
  process.on(signal, () =>
    process.exit(128 + (signal === 'SIGINT' ? 2 : signal === 'SIGHUP' ? 1 : 15)),
  );

function tamper(reason: string): void {
  if (failure?.code === 'TAMPERED') return;
  channel?.close();
  failure = { code: 'TAMPERED', message: `box ${name}: tampered: ${reason}; keys zeroized` };
  program?.zeroize();
  nvm?.zeroize();
  zeroizeDomainKey();
  program = undefined;
  log(failure.message);
}

async function powerUp(): Promise<void> {
  boxType = await boxTypeOf(name);
  const failed = runSelfTests(boxType.selfTests, testHooks.forceSelfTestFail);
  if (failed) {
    failure = {
      code: 'SELF_TEST_FAILED',
      message: `box ${name}: self-test failed: ${failed} known-answer test`,
    };
    log(failure.message);
    return;
  }
  transport = transportKeyPair();
}

/** The unlock frame: the domain key sealed to this box's transport key. */
async function unlock(id: number, args: unknown): Promise<AnswerFrame> {
  if (!transport || !boxType)
    return errorFrame(id, 'BAD_REQUEST', `unlock: box ${name} is already unlocked`);
  const a = v.object(args, 'unlock');
  v.exactKeys(a, 'unlock', ['ephemeralPublicKey', 'sealed']);
  const key = openForBox(transport, name, {
    ephemeralPublicKey: v.text(a.ephemeralPublicKey, 'unlock.ephemeralPublicKey', 200),
    sealed: v.text(a.sealed, 'unlock.sealed', 200),
  });
  if (!key)
    return errorFrame(id, 'BAD_REQUEST', `unlock: box ${name}: the sealed key does not open`);
  if (!isDomainKeyOf(dataDir, key)) {
    key.fill(0);
    return errorFrame(
      id,
      'BAD_REQUEST',
      `unlock: box ${name}: the key is not this data center's domain key (key check value)`,
    );
  }
  transport = undefined;
  domainKey = key;
  const fileKey = boxFileKey(key, name);
  try {
    nvm = Nvm.open(join(dataDir, 'boxes', name), name, fileKey, testHooks.compactBytes);
    for (const note of nvm.notes) log(`box ${name}: ${note}`);
  } catch (error) {
    tamper(error instanceof Error ? error.message : String(error));
    return errorFrame(id, 'TAMPERED', (failure as { message: string } | undefined)?.message ?? '');
  } finally {
    fileKey.fill(0);
  }
  const ctx: BoxContext = {
    nvm,
    now,
    log: (m) => log(`box ${name}: ${m}`),
    name,
    shard: { index: shardIndexOf(name) ?? 0, count: 1 },
    handoverKey: hkdf(key, 'vpm-handover-v1', 'meter'),
    poolKey: hkdf(key, 'vpm-pool-v1', 'meter'),
  };
  context = ctx;
  try {
    program = await boxType.create(ctx);
  } catch (error) {
    if (error instanceof TamperError) tamper(error.message);
    else {
      failure = {
        code: 'INTERNAL_ERROR',
        message: `box ${name}: cannot start: ${error instanceof Error ? error.message : String(error)}`,
      };
      zeroizeDomainKey();
      log(failure.message);
    }
    return errorFrame(id, failure!.code, failure!.message);
  }
  return { v: 1, id, ok: true, value: { box: name, pid: process.pid } };
}

/** A sibling box restarted by supervision asks, through the data center, for the domain key. */
function rewrap(id: number, args: unknown): AnswerFrame {
  const a = v.object(args, 'rewrap');
  v.exactKeys(a, 'rewrap', ['publicKey', 'box']);
  const box = v.text(a.box, 'rewrap.box', 16);
  if (!isProcessName(box)) v.bad(`rewrap: unknown box "${box}"`);
  const sealed =
    domainKey && sealToBox(v.text(a.publicKey, 'rewrap.publicKey', 200), box, domainKey);
  if (!sealed) v.bad('rewrap: publicKey is not an X25519 public key');
  log(`box ${name}: passed the domain key, sealed, to a restarted ${box} box`);
  return { v: 1, id, ok: true, value: sealed };
}

/**
 * Pooled boxes (pool.ts): listen on the channel (channel.ts) under the channel key derived from
 * this box's own domain key. A meter-box shard learns the pool's shard count here; it serves only
 * the meters it owns (meter-box.ts).
 */
async function listen(id: number, args: unknown): Promise<AnswerFrame> {
  const a = v.object(args, 'listen');
  v.exactKeys(a, 'listen', ['path', 'shards']);
  const path = v.text(a.path, 'listen.path', 100);
  const shards = v.integer(a.shards, 'listen.shards', 1, 64);
  if (!domainKey || !context) v.bad('listen: the box is locked');
  if (channel) v.bad('listen: already listening');
  const index = shardIndexOf(name);
  if (index !== undefined && index >= shards)
    v.bad(`listen: shard ${index} is outside a pool of ${shards}`);
  if (index !== undefined) {
    // The count is the shard's own (its NVM), never the pool process's word (pool-growth.ts).
    const state = poolState(context);
    if (state.pending !== undefined)
      v.bad(
        `listen: shard ${name} is growing to ${state.pending} shards; start the pool with --shards ${state.pending} to finish`,
      );
    if (state.count !== shards)
      v.bad(`listen: shard ${name} counts ${state.count} shards in its NVM, not ${shards}`);
  }
  context.shard = { index: index ?? 0, count: shards };
  const key = channelKey(domainKey);
  try {
    channel = await listenChannel(path, key, serveConnection, (reason) =>
      log(`box ${name}: ${reason}`),
    );
  } finally {
    key.fill(0);
  }
  return { v: 1, id, ok: true, value: { box: name, path } };
}

/**
 * The first meter shard makes the NVM of a new one (pool growth): the meter box's own secrets and
 * the grant public key, sealed under the new shard's file key. No report key: a new shard reports
 * to no postal authority (docs/nodes.md).
 */
function provisionShard(id: number, args: unknown): AnswerFrame {
  const a = v.object(args, 'provisionShard');
  v.exactKeys(a, 'provisionShard', ['box']);
  const box = v.text(a.box, 'provisionShard.box', 16);
  if (name !== 'meter') v.bad('provisionShard: only the first meter shard provisions others');
  if (shardIndexOf(box) === undefined || box === 'meter')
    v.bad(`provisionShard: "${box}" is not a meter shard name (meter-1, meter-2, …)`);
  if (!domainKey || !nvm || !context) v.bad('provisionShard: the box is locked');
  // A new shard starts with the pool's count as this shard's NVM has it, after a growth's commit.
  const pool = poolState(context);
  if (pool.pending !== undefined || (shardIndexOf(box) as number) >= pool.count)
    v.bad(
      `provisionShard: ${box} is outside the pool's ${pool.count} shards; commit the growth first (poolPrepare … poolCommit)`,
    );
  const fileKey = boxFileKey(domainKey, box);
  try {
    createNvm(
      join(dataDir, 'boxes', box),
      {
        v: 1,
        box,
        keys: {
          wrapMaster: (nvm.keys.wrapMaster as Buffer).toString('base64'),
          recordMaster: (nvm.keys.recordMaster as Buffer).toString('base64'),
        },
        public: { grantPublicKey: nvm.publicData.grantPublicKey ?? '' },
      },
      { [POOL_STATE_KEY]: { count: pool.count } satisfies PoolState },
      fileKey,
    );
  } catch (error) {
    v.bad(`provisionShard: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    fileKey.fill(0);
  }
  log(`box ${name}: provisioned meter shard ${box}`);
  return { v: 1, id, ok: true, value: { box } };
}

/** Commands only the pool (this process's parent, over its pipe) may send; never the channel. */
const CONTROL_ONLY = new Set([
  'unlock',
  'rewrap',
  'listen',
  'provisionShard',
  'exportMeter',
  'importMeter',
  'listMeters',
  ...POOL_COMMANDS,
]);

const errorFrame = (
  id: number | null,
  code: BoxErrorCode,
  message: string,
  details?: Record<string, unknown>,
): AnswerFrame => ({
  v: 1,
  id,
  ok: false,
  error: details ? { code, message, details } : { code, message },
});

async function handle(event: FrameEvent, control: boolean): Promise<AnswerFrame> {
  if (event.kind === 'oversized')
    return errorFrame(null, 'BAD_REQUEST', `frame: ${event.length} bytes exceeds the maximum`);
  let request: Partial<RequestFrame>;
  try {
    request = JSON.parse(event.body.toString('utf8')) as Partial<RequestFrame>;
  } catch {
    return errorFrame(null, 'BAD_REQUEST', 'frame: not JSON');
  }
  const id =
    typeof request === 'object' &&
    request !== null &&
    Number.isSafeInteger(request.id) &&
    (request.id as number) > 0
      ? (request.id as number)
      : null;
  if (id === null) return errorFrame(null, 'BAD_REQUEST', 'frame: id must be a positive integer');
  if (request.v !== PROTOCOL_VERSION)
    return errorFrame(id, 'BAD_REQUEST', `frame: unknown protocol version ${String(request.v)}`);
  if (!control && typeof request.cmd === 'string' && CONTROL_ONLY.has(request.cmd))
    return errorFrame(id, 'BAD_REQUEST', `frame: ${request.cmd} is not served over the channel`);
  if (!failure && request.cmd === 'unlock') {
    try {
      return await unlock(id, request.args);
    } catch (error) {
      if (error instanceof BoxError) return errorFrame(id, error.code, error.message);
      throw error;
    }
  }
  if (failure || !program) {
    const f = failure ?? {
      code: 'BAD_REQUEST' as const,
      message: `box ${name}: locked: it serves nothing before its unlock frame`,
    };
    return errorFrame(id, f.code, f.message);
  }
  if (request.cmd === 'rewrap' || request.cmd === 'listen' || request.cmd === 'provisionShard') {
    try {
      if (request.cmd === 'listen') return await listen(id, request.args);
      if (request.cmd === 'provisionShard') return provisionShard(id, request.args);
      return rewrap(id, request.args);
    } catch (error) {
      if (error instanceof BoxError) return errorFrame(id, error.code, error.message);
      throw error;
    }
  }
  const cmd =
    typeof request.cmd === 'string' && Object.hasOwn(program.commands, request.cmd)
      ? program.commands[request.cmd]
      : undefined;
  if (!cmd)
    return errorFrame(
      id,
      'BAD_REQUEST',
      `frame: unknown command "${String(request.cmd)}" for box ${name}`,
    );
  try {
    const checked = cmd.check(request.args) as never;
    const value = await cmd.work(checked);
    return { v: 1, id, ok: true, value: value === undefined ? null : value };
  } catch (error) {
    if (error instanceof BoxError) return errorFrame(id, error.code, error.message, error.details);
    if (error instanceof TamperError) {
      tamper(error.message);
      return errorFrame(
        id,
        'TAMPERED',
        (failure as { message: string } | undefined)?.message ?? 'tampered',
      );
    }
    log(
      `box ${name}: internal error in ${request.cmd}: ${error instanceof Error ? error.message : String(error)}`,
    );
    return errorFrame(id, 'INTERNAL_ERROR', `${request.cmd}: internal error in box ${name}`);
  }
}

/** Where a frame's answer goes: the pool's pipe (stdout), or the channel connection it came on. */
type Sink = (bytes: Buffer) => void;
const toParent: Sink = (bytes) => void process.stdout.write(bytes);
interface Queued {
  event: FrameEvent;
  sink: Sink;
  /** From the parent's pipe: control commands allowed. */
  control: boolean;
}
const reader = new FrameReader();
const queue: Queued[] = [];
let draining = false;
let ended = false;
const BATCH_LIMIT = 512;
/**
 * A batch ends after this much work, even with frames still queued: its answers then leave after
 * the next fsync while the box works on the rest, instead of every queued command waiting for the
 * whole queue (one convoy of all meters through the box, then through the database, in turn).
 */
const SLICE_MS = 6;

/**
 * Group commit, pipelined: a batch's answers wait in `unsynced` until the NVM changes staged so far
 * are appended as one log record and an fsync that began after that append has completed. One
 * fsync is in flight at a time; the batches that arrive meanwhile are worked on and stay staged,
 * then are appended together, as one record, just before the next fsync. Answers that depend on
 * nothing new (reads, refusals) still wait their turn, so nothing the box says ever runs ahead of
 * what its NVM holds.
 */
let unsynced: { answers: { frame: AnswerFrame; sink: Sink }[] }[] = [];
let syncing = false;

function send(answers: { frame: AnswerFrame; sink: Sink }[]): void {
  const bySink = new Map<Sink, Buffer[]>();
  for (const { frame, sink } of answers) {
    // Tampered meanwhile: nothing it did is durable or trustworthy.
    const a = failure && frame.ok ? errorFrame(frame.id, failure.code, failure.message) : frame;
    const list = bySink.get(sink);
    if (list) list.push(encodeFrame(a));
    else bySink.set(sink, [encodeFrame(a)]);
  }
  for (const [sink, frames] of bySink)
    sink(frames.length === 1 ? frames[0]! : Buffer.concat(frames));
}

/** A compaction's file operation failed: stop, as after a failed fsync; a restart finishes it. */
function compactionFailed(error: unknown): void {
  log(
    `box ${name}: NVM compaction failed: ${error instanceof Error ? error.message : String(error)}; stopping`,
  );
  process.exit(70);
}

function syncAndAnswer(): void {
  if (syncing || unsynced.length === 0) return;
  const group = unsynced;
  unsynced = [];
  const answerGroup = () => {
    for (const batch of group) send(batch.answers);
    if (ended && !draining && unsynced.length === 0) process.exit(0);
    syncAndAnswer();
  };
  if (!nvm || failure || !nvm.hasStaged) return answerGroup();
  if (pausePoint === 'before-commit') return; // test hook: never written, never answered
  try {
    nvm.append();
  } catch (error) {
    if (!(error instanceof TamperError)) {
      log(
        `box ${name}: NVM write failed: ${error instanceof Error ? error.message : String(error)}; stopping`,
      );
      process.exit(70);
    }
    tamper(error.message);
    return answerGroup();
  }
  syncing = true;
  nvm.sync((error) => {
    if (error) {
      log(`box ${name}: NVM fsync failed: ${error.message}; stopping`);
      process.exit(70);
    }
    if (pausePoint === 'after-commit') return; // test hook: durable, never answered
    syncing = false;
    // Between fsyncs, with nothing appended unsynced: the one moment a compaction may start.
    try {
      nvm?.compactIfDue().catch(compactionFailed);
    } catch (e) {
      compactionFailed(e);
    }
    answerGroup();
  });
}

async function drain(): Promise<void> {
  while (queue.length > 0) {
    const started = performance.now();
    const answers: { frame: AnswerFrame; sink: Sink }[] = [];
    let taken = 0;
    while (taken < queue.length && taken < BATCH_LIMIT) {
      const { event, sink, control } = queue[taken++] as Queued;
      answers.push({ frame: await handle(event, control), sink });
      if (performance.now() - started >= SLICE_MS) break;
    }
    queue.splice(0, taken);
    unsynced.push({ answers });
    syncAndAnswer();
    // Lets a finished fsync answer its batches, and new frames join the queue, before the next.
    if (queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
  }
  draining = false;
  if (ended && !syncing && unsynced.length === 0) process.exit(0);
}

/** One channel connection: its own frame reader; answers go back on it. */
function serveConnection(socket: TLSSocket): void {
  const frames = new FrameReader();
  const sink: Sink = (bytes) => void (socket.writable && socket.write(bytes));
  socket.on('data', (chunk: Buffer) => {
    for (const event of frames.push(chunk)) queue.push({ event, sink, control: false });
    schedule();
  });
  // A forged or replayed record fails to open: OpenSSL errors and the connection is dropped.
  socket.on('error', (error: Error & { code?: string }) => {
    log(`box ${name}: channel: dropped a connection (${error.code ?? error.message})`);
    socket.destroy();
  });
}

function schedule(): void {
  if (draining) return;
  draining = true;
  setImmediate(() => void drain());
}

await powerUp();
process.stdout.write(
  encodeFrame(
    failure
      ? errorFrame(HELLO_ID, failure.code, failure.message)
      : ({
          v: 1,
          id: HELLO_ID,
          ok: true,
          value: { box: name, pid: process.pid, locked: true, unlockKey: transport?.publicKey },
        } satisfies AnswerFrame),
  ),
);

process.stdout.on('error', () => process.exit(0)); // the data center went away
readParentInput(
  (chunk) => {
    for (const event of reader.push(chunk)) queue.push({ event, sink: toParent, control: true });
    schedule();
  },
  () => {
    ended = true;
    if (!draining && !syncing && unsynced.length === 0) process.exit(0);
  },
);

// Tamper check while idle, too: an NVM file changed behind the box's back.
setInterval(() => {
  if (!nvm || failure) return;
  try {
    nvm.checkUnchanged();
  } catch (error) {
    if (error instanceof TamperError) tamper(error.message);
  }
}, 2000).unref();
