/**
 * @module boxes/nvm
 * A box's non-volatile memory (patent Fig. 2: the secure co-processor's protected storage),
 * under DIR/boxes/<box>/, every file sealed with AES-256-GCM under the box's file key
 * HKDF(domain key, box name) (DESIGN.md "Custody": nothing under DIR is usable without a quorum
 * of custodian shares), with the box name and the file's role as associated data, so a file can
 * be neither read, nor edited, nor moved to another box or another role:
 *   keys.json   {v:2, box, sealed}: the box's secrets and public material; written once by the
 *               key ceremony.
 *   state.snap  a snapshot of the box's key→value state: a JSON header line {v, box, seq}, then
 *               the sealed state (base64); the header is part of the associated data.
 *   state.log   an append-only log of commits after the snapshot: each record is
 *               u32 length || sealed JSON {seq, set} (iv || ciphertext || tag).
 *   state.log.1 while a compaction is under way, the log it folds (see below); then removed.
 * Why a log: group commit. A batch of commands (many meters) is one appended record and one
 * fsync, instead of rewriting a large file per command. When the log passes COMPACT_BYTES it is
 * folded into a new snapshot without stopping the box: the log is renamed state.log.1 and a new
 * empty state.log takes the appends that follow (the directory is fsynced with the next fsync,
 * before anything written to the new log is answered); the snapshot of the state at that moment
 * is written on the thread pool (temp file, fsync, rename, fsync dir), and only then is
 * state.log.1 removed. Opening replays state.log.1 (when present) and then state.log, skipping
 * the records the snapshot already holds; the sequence numbers must run on without a gap across
 * the snapshot and both logs, so a crash at any step leaves a state that opens to the last
 * answered commit.
 * Any failed check (a file that does not open, a broken sequence, a file changed behind the box's
 * back while it runs) is a tamper event: TamperError. A torn last log record (crash mid-append,
 * never answered) is dropped. Limitation: without a hardware monotonic counter, wholesale
 * rollback of the directory to an older consistent copy cannot be detected here.
 */
import {
  closeSync,
  fsync,
  existsSync,
  fstatSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  ftruncateSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { aesGcmOpen, aesGcmSeal, fromBase64, hkdf, hmacSha256, sameBytes } from './crypto-kit';

const fsyncAsync = promisify(fsync);

export const KEYS_FILE = 'keys.json';
export const SNAPSHOT_FILE = 'state.snap';
export const LOG_FILE = 'state.log';
/** The log being folded into a snapshot, while that snapshot is written. */
export const FOLDING_LOG_FILE = 'state.log.1';
/** The log's size past which it is folded into a new snapshot. */
export const COMPACT_BYTES = 8 * 1024 * 1024;
/** A log record's head: u32 length, then a 16-byte keyed tag of (offset, length). */
const HEAD_BYTES = 20;

export class TamperError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TamperError';
  }
}

/** What keys.json holds, sealed. */
export interface KeyFileBody {
  v: 1;
  box: string;
  /** Secrets, base64. */
  keys: Record<string, string>;
  /** Public material, e.g. the vendor CA certificate. */
  public: Record<string, string>;
}

/** Writes a file atomically: temp file, fsync, rename, fsync of the directory. */
export function atomicWrite(dir: string, name: string, data: Buffer | string): void {
  const temp = join(dir, `.${name}.tmp`);
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dir, name));
  fsyncDir(dir);
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** The key that seals a box's NVM files: HKDF(domain key, box name). */
export function boxFileKey(domainKey: Uint8Array, box: string): Buffer {
  return hkdf(domainKey, 'vpm-box-files-v1', box);
}

type FileRole = 'keys' | 'snap' | 'log';
const aad = (box: string, role: FileRole, extra = ''): string =>
  `vpm-nvm-v2|${box}|${role}${extra ? `|${extra}` : ''}`;

function keyFileText(key: Buffer, body: KeyFileBody): string {
  const plain = Buffer.from(JSON.stringify({ keys: body.keys, public: body.public }), 'utf8');
  const sealed = aesGcmSeal(key, plain, aad(body.box, 'keys')).toString('base64');
  plain.fill(0);
  return `${JSON.stringify({ v: 2, box: body.box, sealed })}\n`;
}

/** Opens a box's keys.json with its file key; throws TamperError when it does not open. */
export function readKeyFile(dir: string, box: string, key: Buffer): Omit<KeyFileBody, 'v'> {
  const path = join(dir, KEYS_FILE);
  if (!existsSync(path)) throw new TamperError(`${KEYS_FILE} is missing`);
  let file: { v?: unknown; box?: unknown; sealed?: unknown };
  try {
    file = JSON.parse(readFileSync(path, 'utf8')) as typeof file;
  } catch {
    throw new TamperError(`${KEYS_FILE} is not valid JSON`);
  }
  if (file.box !== box) throw new TamperError(`${KEYS_FILE} belongs to box "${String(file.box)}"`);
  const sealed = file.v === 2 ? fromBase64(file.sealed) : undefined;
  const plain = sealed ? aesGcmOpen(key, sealed, aad(box, 'keys')) : undefined;
  if (!plain)
    throw new TamperError(
      `${KEYS_FILE} does not open under this box's key (AES-GCM): edited, swapped or from another data center`,
    );
  const body = JSON.parse(plain.toString('utf8')) as Pick<KeyFileBody, 'keys' | 'public'>;
  plain.fill(0);
  return { box, keys: body.keys ?? {}, public: body.public ?? {} };
}

function snapshotText(
  key: Buffer,
  box: string,
  seq: number,
  data: Record<string, unknown>,
): string {
  const header = JSON.stringify({ v: 2, box, seq });
  const plain = Buffer.from(JSON.stringify({ box, seq, data }), 'utf8');
  const sealed = aesGcmSeal(key, plain, aad(box, 'snap', header));
  return `${header}\n${sealed.toString('base64')}\n`;
}

/** Creates a box's NVM (key ceremony), sealed under its file key. Refuses if it exists. */
export function createNvm(
  dir: string,
  body: KeyFileBody,
  initial: Record<string, unknown>,
  key: Buffer,
): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (existsSync(join(dir, KEYS_FILE))) throw new Error(`nvm: ${dir} is already initialised`);
  if (key.length !== 32) throw new Error('nvm: the file key must be 32 bytes');
  atomicWrite(dir, SNAPSHOT_FILE, snapshotText(key, body.box, 0, initial));
  atomicWrite(dir, LOG_FILE, Buffer.alloc(0));
  atomicWrite(dir, KEYS_FILE, keyFileText(key, body));
}

interface FileStamp {
  size: number;
  mtimeMs: number;
  ino: number;
}
const stamp = (path: string): FileStamp => {
  const s = statSync(path);
  return { size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
};
const sameStamp = (a: FileStamp, b: FileStamp): boolean =>
  a.size === b.size && a.mtimeMs === b.mtimeMs && a.ino === b.ino;

/** An opened, verified NVM. */
export class Nvm {
  readonly keys: Record<string, Buffer>;
  readonly publicData: Record<string, string>;
  private readonly data = new Map<string, unknown>();
  private readonly staged = new Map<string, unknown>();
  private readonly key: Buffer;
  private readonly headKey: Buffer;
  private seq: number;
  private logFd: number;
  private logSize: number;
  /** The directory, held open for its fsyncs. */
  private readonly dirFd: number;
  /** Set when the log was renamed and a new one made: the next sync() fsyncs the directory too. */
  private dirDirty = false;
  /** A compaction under way (state.log.1 present, its snapshot being written). */
  private folding: Promise<void> | undefined;
  private closed = false;
  private keysStamp: FileStamp;
  private snapStamp: FileStamp;
  /** A note for the log about what opening found (e.g. a torn record dropped). */
  readonly notes: string[] = [];

  private constructor(
    private readonly dir: string,
    readonly box: string,
    fileKey: Buffer,
    private readonly compactBytes: number,
  ) {
    this.key = Buffer.from(fileKey);
    this.headKey = hkdf(this.key, 'vpm-nvm-log-head-v1', box);
    const keysPath = join(dir, KEYS_FILE);
    const body = readKeyFile(dir, box, this.key);
    this.keys = {};
    for (const [name, value] of Object.entries(body.keys)) {
      this.keys[name] = Buffer.from(value, 'base64');
    }
    this.publicData = { ...body.public };
    this.keysStamp = stamp(keysPath);

    const snapPath = join(dir, SNAPSHOT_FILE);
    if (!existsSync(snapPath)) throw new TamperError(`${SNAPSHOT_FILE} is missing`);
    // Exactly the header line and the sealed state in canonical base64: a base64 decoder skips
    // what it cannot read, so a changed byte could otherwise open to the same state.
    const [header, sealedText, rest, ...more] = readFileSync(snapPath, 'utf8').split('\n');
    const sealed = rest === '' && more.length === 0 ? fromBase64(sealedText) : undefined;
    const plain =
      header !== undefined && sealed
        ? aesGcmOpen(this.key, sealed, aad(box, 'snap', header))
        : undefined;
    if (!plain)
      throw new TamperError(
        `${SNAPSHOT_FILE} does not open under this box's key (AES-GCM): edited, swapped or from another data center`,
      );
    const snap = JSON.parse(plain.toString('utf8')) as {
      box: string;
      seq: number;
      data: Record<string, unknown>;
    };
    const head = JSON.parse(header as string) as { box?: unknown; seq?: unknown };
    if (snap.box !== box || head.box !== box || head.seq !== snap.seq)
      throw new TamperError(`${SNAPSHOT_FILE} belongs to another box`);
    for (const [k, v] of Object.entries(snap.data)) this.data.set(k, v);
    this.seq = snap.seq;
    this.snapStamp = stamp(snapPath);

    const logPath = join(dir, LOG_FILE);
    const foldingPath = join(dir, FOLDING_LOG_FILE);
    const wasFolding = existsSync(foldingPath);
    if (wasFolding) {
      // A compaction did not finish: its log was complete (folded only between fsyncs), so it is
      // replayed whole, before the log that took the appends after it.
      this.replay(readFileSync(foldingPath), snap.seq, FOLDING_LOG_FILE);
      if (!existsSync(logPath)) {
        // Stopped between the rename and the new log's creation: nothing was appended after it.
        atomicWrite(dir, LOG_FILE, Buffer.alloc(0));
      }
    } else if (!existsSync(logPath)) throw new TamperError(`${LOG_FILE} is missing`);
    this.dirFd = openSync(dir, 'r');
    this.logFd = openSync(logPath, 'r+');
    this.logSize = this.replay(readFileSync(logPath), snap.seq, LOG_FILE);
    if (wasFolding) {
      this.notes.push(`finished a compaction that was under way when the box stopped`);
      this.compactNow();
      unlinkSync(foldingPath);
      fsyncSync(this.dirFd);
    }
  }

  /**
   * Opens and verifies the NVM in `dir` with the box's file key (boxFileKey); throws TamperError
   * on any integrity failure. The Nvm keeps its own copy of the key. `compactBytes`: the log's
   * size that starts a compaction (tests make it small).
   */
  static open(dir: string, box: string, fileKey: Buffer, compactBytes = COMPACT_BYTES): Nvm {
    return new Nvm(dir, box, fileKey, compactBytes);
  }

  /** A record's head: u32 length || 16-byte HMAC tag of (offset, length) under the head key. */
  private headTag(offset: number, length: number): Buffer {
    return hmacSha256(this.headKey, `log-head|${this.box}|${offset}|${length}`).subarray(0, 16);
  }

  /**
   * Replays one log file over the snapshot; returns the length of its whole records. Only the
   * current log may end in a torn record (state.log.1 was folded only after its last fsync).
   */
  private replay(
    log: Buffer,
    snapSeq: number,
    file: typeof LOG_FILE | typeof FOLDING_LOG_FILE,
  ): number {
    let at = 0;
    let expected: number | undefined;
    while (at < log.length) {
      if (log.length - at < HEAD_BYTES) break;
      const length = log.readUInt32BE(at);
      // The head is keyed: an edited length is tampering, never mistaken for a torn record.
      if (!sameBytes(log.subarray(at + 4, at + HEAD_BYTES), this.headTag(at, length)))
        throw new TamperError(`${file} record head does not verify at offset ${at}`);
      if (log.length - at < HEAD_BYTES + length) break;
      const plain = aesGcmOpen(
        this.key,
        log.subarray(at + HEAD_BYTES, at + HEAD_BYTES + length),
        aad(this.box, 'log', String(at)),
      );
      if (!plain)
        throw new TamperError(
          `${file} record at offset ${at} does not open under this box's key (AES-GCM)`,
        );
      const record = JSON.parse(plain.toString('utf8')) as {
        seq: number;
        set: Record<string, unknown>;
      };
      if (expected !== undefined && record.seq !== expected) {
        throw new TamperError(`${file} sequence broken at offset ${at}`);
      }
      expected = record.seq + 1;
      if (record.seq > snapSeq) {
        if (record.seq !== this.seq + 1)
          throw new TamperError(`${file} does not follow the snapshot`);
        for (const [k, v] of Object.entries(record.set)) this.data.set(k, v);
        this.seq = record.seq;
      }
      at += HEAD_BYTES + length;
    }
    if (at < log.length && file === FOLDING_LOG_FILE)
      throw new TamperError(`${FOLDING_LOG_FILE} ends in a torn record at offset ${at}`);
    if (at < log.length) {
      // A torn record: the box died while appending it, so its commands were never answered.
      this.notes.push(
        `dropped a torn log record of ${log.length - at} bytes (crash during a write)`,
      );
      ftruncateSync(this.logFd, at);
      fsyncSync(this.logFd);
    }
    return at;
  }

  get<T>(key: string): T | undefined {
    return (this.staged.has(key) ? this.staged.get(key) : this.data.get(key)) as T | undefined;
  }

  /** The keys that start with `prefix`, staged ones included. */
  keysWithPrefix(prefix: string): string[] {
    const keys = new Set<string>();
    for (const map of [this.data, this.staged])
      for (const key of map.keys()) if (key.startsWith(prefix)) keys.add(key);
    return [...keys];
  }

  /** Stages a value; it becomes durable at the next append() and sync(). */
  stage(key: string, value: unknown): void {
    this.staged.set(key, value);
  }

  get hasStaged(): boolean {
    return this.staged.size > 0;
  }

  /** Throws TamperError if a state or key file changed behind the box's back. */
  checkUnchanged(): void {
    if (fstatSync(this.logFd).size !== this.logSize) {
      throw new TamperError(`${LOG_FILE} changed while the box was running`);
    }
    try {
      if (!sameStamp(stamp(join(this.dir, KEYS_FILE)), this.keysStamp)) {
        throw new TamperError(`${KEYS_FILE} changed while the box was running`);
      }
      if (!sameStamp(stamp(join(this.dir, SNAPSHOT_FILE)), this.snapStamp)) {
        throw new TamperError(`${SNAPSHOT_FILE} changed while the box was running`);
      }
    } catch (error) {
      if (error instanceof TamperError) throw error;
      throw new TamperError(`an NVM file disappeared while the box was running`);
    }
  }

  /**
   * Writes the staged values as one log record (not yet fsynced) and makes them the current
   * state. Returns false when nothing was staged. The caller answers nothing that depends on them
   * before sync() has completed.
   */
  append(): boolean {
    if (this.staged.size === 0) return false;
    this.checkUnchanged();
    const set = Object.fromEntries(this.staged);
    const plain = Buffer.from(JSON.stringify({ seq: this.seq + 1, set }), 'utf8');
    const sealed = aesGcmSeal(this.key, plain, aad(this.box, 'log', String(this.logSize)));
    const head = Buffer.alloc(4);
    head.writeUInt32BE(sealed.length, 0);
    const record = Buffer.concat([head, this.headTag(this.logSize, sealed.length), sealed]);
    writeSync(this.logFd, record, 0, record.length, this.logSize);
    this.logSize += record.length;
    this.seq += 1;
    for (const [k, v] of this.staged) this.data.set(k, v);
    this.staged.clear();
    return true;
  }

  /**
   * fsync of the log on the thread pool (and of the directory after a compaction renamed the
   * log): every record appended so far is durable when it calls back.
   */
  sync(done: (error: Error | null) => void): void {
    const dirToo = this.dirDirty;
    this.dirDirty = false;
    fsync(this.logFd, (error) => {
      if (error || !dirToo) return done(error);
      fsync(this.dirFd, done);
    });
  }

  /**
   * Starts folding a long log into a new snapshot, without stopping the box; call only while no
   * sync() is in flight and nothing appended is unsynced. The state at this moment goes into the
   * snapshot; the log is renamed state.log.1 and a new empty state.log takes the appends that
   * follow. The snapshot is written on the thread pool; then state.log.1 is removed. Resolves when
   * that is done (or at once when no compaction was due or one is still under way); rejects when
   * a file operation fails.
   */
  compactIfDue(): Promise<void> {
    if (this.logSize <= this.compactBytes || this.folding) return Promise.resolve();
    const text = snapshotText(this.key, this.box, this.seq, Object.fromEntries(this.data));
    closeSync(this.logFd);
    renameSync(join(this.dir, LOG_FILE), join(this.dir, FOLDING_LOG_FILE));
    this.logFd = openSync(join(this.dir, LOG_FILE), 'wx+', 0o600);
    this.logSize = 0;
    this.dirDirty = true;
    const folding = this.writeSnapshot(text).finally(() => {
      if (this.folding === folding) this.folding = undefined;
    });
    this.folding = folding;
    return folding;
  }

  /** Writes state.snap on the thread pool (temp file, fsync, rename, fsync dir); then removes state.log.1. */
  private async writeSnapshot(text: string): Promise<void> {
    const temp = join(this.dir, `.${SNAPSHOT_FILE}.tmp`);
    const file = await open(temp, 'w', 0o600);
    try {
      await file.writeFile(text, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    if (this.closed) return;
    // Renamed and stamped in one step of the event loop: checkUnchanged never sees it half done.
    renameSync(temp, join(this.dir, SNAPSHOT_FILE));
    this.snapStamp = stamp(join(this.dir, SNAPSHOT_FILE));
    await fsyncAsync(this.dirFd);
    if (this.closed) return;
    unlinkSync(join(this.dir, FOLDING_LOG_FILE));
  }

  discardStaged(): void {
    this.staged.clear();
  }

  /** Folds everything into a new snapshot at once and empties the log (when opening). */
  private compactNow(): void {
    atomicWrite(
      this.dir,
      SNAPSHOT_FILE,
      snapshotText(this.key, this.box, this.seq, Object.fromEntries(this.data)),
    );
    this.snapStamp = stamp(join(this.dir, SNAPSHOT_FILE));
    closeSync(this.logFd);
    atomicWrite(this.dir, LOG_FILE, Buffer.alloc(0));
    this.logFd = openSync(join(this.dir, LOG_FILE), 'r+');
    this.logSize = 0;
  }

  /** Tamper response: overwrite every secret in memory and forget the state. */
  zeroize(): void {
    for (const k of Object.values(this.keys)) k.fill(0);
    this.key.fill(0);
    this.headKey.fill(0);
    this.data.clear();
    this.staged.clear();
    if (this.closed) return;
    this.closed = true;
    closeSync(this.logFd);
    closeSync(this.dirFd);
  }
}
