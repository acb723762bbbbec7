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
import { BoxError, type BoxErrorCode } from './api';
import { testHooks } from './box-hooks';
import type { BoxContext, BoxProgram, BoxType } from './box-program';
import { isBoxName, loadBoxType, type BoxName } from './box-types';
import { isDomainKeyOf } from './custody';
import { openForBox, sealToBox, transportKeyPair, type TransportKeyPair } from './key-transport';
import { Nvm, TamperError, boxFileKey } from './nvm';
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

if (!isBoxName(name) || dataDir === '') {
  log(`box-main: usage: box-main <meter|steel|auth|txn> <dataDir>`);
  process.exit(64);
}

const clock = testHooks.clock;
const now = (): Date => (clock ? new Date(clock) : new Date());
const pausePoint = testHooks.pause;

let failure: { code: BoxErrorCode; message: string } | undefined;
let nvm: Nvm | undefined;
let program: BoxProgram | undefined;
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
  failure = { code: 'TAMPERED', message: `box ${name}: tampered: ${reason}; keys zeroized` };
  program?.zeroize();
  nvm?.zeroize();
  zeroizeDomainKey();
  program = undefined;
  log(failure.message);
}

async function powerUp(): Promise<void> {
  boxType = await loadBoxType(name as BoxName);
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
    nvm = Nvm.open(join(dataDir, 'boxes', name), name, fileKey);
    for (const note of nvm.notes) log(`box ${name}: ${note}`);
  } catch (error) {
    tamper(error instanceof Error ? error.message : String(error));
    return errorFrame(id, 'TAMPERED', (failure as { message: string } | undefined)?.message ?? '');
  } finally {
    fileKey.fill(0);
  }
  const ctx: BoxContext = { nvm, now, log: (m) => log(`box ${name}: ${m}`) };
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
  if (!isBoxName(box)) v.bad(`rewrap: unknown box "${box}"`);
  const sealed =
    domainKey && sealToBox(v.text(a.publicKey, 'rewrap.publicKey', 200), box, domainKey);
  if (!sealed) v.bad('rewrap: publicKey is not an X25519 public key');
  log(`box ${name}: passed the domain key, sealed, to a restarted ${box} box`);
  return { v: 1, id, ok: true, value: sealed };
}

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

async function handle(event: FrameEvent): Promise<AnswerFrame> {
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
  if (request.cmd === 'rewrap') {
    try {
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

const reader = new FrameReader();
const queue: FrameEvent[] = [];
let draining = false;
let ended = false;
const BATCH_LIMIT = 512;

/**
 * Group commit, pipelined: a batch's NVM record is appended at once, and its answers wait in
 * `unsynced` until an fsync that began after the append has completed. One fsync is in flight at a
 * time; the batches that arrive meanwhile are worked on and appended, then share the next fsync.
 * Answers that depend on nothing new (reads, refusals) still wait their turn, so nothing the box
 * says ever runs ahead of what its NVM holds.
 */
let unsynced: { answers: AnswerFrame[]; appended: boolean }[] = [];
let syncing = false;

function send(answers: AnswerFrame[]): void {
  if (failure) {
    // Tampered meanwhile: nothing it did is durable or trustworthy.
    for (let i = 0; i < answers.length; i++) {
      const a = answers[i]!;
      if (a.ok) answers[i] = errorFrame(a.id, failure.code, failure.message);
    }
  }
  if (answers.length > 0) process.stdout.write(Buffer.concat(answers.map(encodeFrame)));
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
  if (!nvm || failure || !group.some((b) => b.appended)) return answerGroup();
  syncing = true;
  nvm.sync((error) => {
    if (error) {
      log(`box ${name}: NVM fsync failed: ${error.message}; stopping`);
      process.exit(70);
    }
    if (pausePoint === 'after-commit') return; // test hook: durable, never answered
    syncing = false;
    try {
      nvm?.compactIfDue();
    } catch (e) {
      if (e instanceof TamperError) tamper(e.message);
      else throw e;
    }
    answerGroup();
  });
}

async function drain(): Promise<void> {
  while (queue.length > 0) {
    const batch = queue.splice(0, BATCH_LIMIT);
    const answers: AnswerFrame[] = [];
    for (const event of batch) answers.push(await handle(event));
    let appended = false;
    if (nvm && !failure && nvm.hasStaged) {
      if (pausePoint === 'before-commit') await new Promise(() => undefined);
      try {
        appended = nvm.append();
      } catch (error) {
        if (!(error instanceof TamperError)) {
          log(
            `box ${name}: NVM write failed: ${error instanceof Error ? error.message : String(error)}; stopping`,
          );
          process.exit(70);
        }
        tamper((error as TamperError).message);
      }
    }
    unsynced.push({ answers, appended });
    syncAndAnswer();
  }
  draining = false;
  if (ended && !syncing && unsynced.length === 0) process.exit(0);
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
    queue.push(...reader.push(chunk));
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
