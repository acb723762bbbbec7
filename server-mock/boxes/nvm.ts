/**
 * @module boxes/nvm
 * A box's non-volatile memory (patent Fig. 2: the secure co-processor's protected storage),
 * under DIR/boxes/<box>/:
 *   keys.json   the box's secrets (base64) and public material, with a SHA-256 checksum of the
 *               file's own content; written once by the key ceremony.
 *   state.snap  a snapshot of the box's key→value state: one JSON line, then its HMAC (hex).
 *   state.log   an append-only log of commits after the snapshot: each record is
 *               u32 length || JSON {seq, set} || HMAC-SHA-256(32 bytes).
 * The HMAC key is HKDF(the box's own secret `boxSecret`, box name), so state files can neither be
 * edited nor moved between boxes. Why a log: group commit. A batch of commands (many meters) is
 * one appended record and one fsync, instead of rewriting a large file per command. When the log
 * passes COMPACT_BYTES it is folded into a new snapshot (temp file, fsync, rename, fsync dir) and
 * the log restarts empty the same way.
 * Any failed check (checksum, HMAC, sequence, a file changed behind the box's back while it runs)
 * is a tamper event: TamperError. A torn last log record (crash mid-append, never answered) is
 * dropped. Limitation: without a hardware monotonic counter, wholesale rollback of the directory
 * to an older consistent copy cannot be detected here.
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
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { canonicalJson, hkdf, hmacSha256, sameBytes, sha256 } from './crypto-kit';
import { MAX_FRAME_BYTES } from './protocol';

export const KEYS_FILE = 'keys.json';
export const SNAPSHOT_FILE = 'state.snap';
export const LOG_FILE = 'state.log';
const COMPACT_BYTES = 8 * 1024 * 1024;

export class TamperError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'TamperError';
  }
}

/** What keys.json holds (before the checksum). */
export interface KeyFileBody {
  v: 1;
  box: string;
  /** Secrets, base64. Always includes boxSecret. */
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

function integrityKey(boxSecret: Uint8Array, box: string): Buffer {
  return hkdf(boxSecret, 'vpm-nvm-integrity-v1', box);
}

const keyChecksum = (body: KeyFileBody): string => sha256(canonicalJson(body)).toString('hex');

function snapshotText(
  key: Buffer,
  box: string,
  seq: number,
  data: Record<string, unknown>,
): string {
  const body = JSON.stringify({ v: 1, box, seq, data });
  return `${body}\n${hmacSha256(key, `snap|${body}`).toString('hex')}\n`;
}

/** Creates a box's NVM (key ceremony). Refuses if it exists. */
export function createNvm(dir: string, body: KeyFileBody, initial: Record<string, unknown>): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (existsSync(join(dir, KEYS_FILE))) throw new Error(`nvm: ${dir} is already initialised`);
  const secret = Buffer.from(body.keys.boxSecret ?? '', 'base64');
  if (secret.length !== 32) throw new Error('nvm: boxSecret must be 32 bytes');
  const key = integrityKey(secret, body.box);
  atomicWrite(dir, SNAPSHOT_FILE, snapshotText(key, body.box, 0, initial));
  atomicWrite(dir, LOG_FILE, Buffer.alloc(0));
  atomicWrite(
    dir,
    KEYS_FILE,
    `${JSON.stringify({ ...body, checksum: keyChecksum(body) }, null, 2)}\n`,
  );
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
  private seq: number;
  private logFd: number;
  private logSize: number;
  private keysStamp: FileStamp;
  private snapStamp: FileStamp;
  /** A note for the log about what opening found (e.g. a torn record dropped). */
  readonly notes: string[] = [];

  private constructor(
    private readonly dir: string,
    readonly box: string,
  ) {
    const keysPath = join(dir, KEYS_FILE);
    if (!existsSync(keysPath)) throw new TamperError(`${KEYS_FILE} is missing`);
    let parsed: KeyFileBody & { checksum?: string };
    try {
      parsed = JSON.parse(readFileSync(keysPath, 'utf8')) as KeyFileBody & { checksum?: string };
    } catch {
      throw new TamperError(`${KEYS_FILE} is not valid JSON`);
    }
    const { checksum, ...body } = parsed;
    if (typeof checksum !== 'string' || checksum !== keyChecksum(body as KeyFileBody)) {
      throw new TamperError(`${KEYS_FILE} checksum does not match its content`);
    }
    if (body.box !== box)
      throw new TamperError(`${KEYS_FILE} belongs to box "${String(body.box)}"`);
    this.keys = {};
    for (const [name, value] of Object.entries(body.keys ?? {})) {
      this.keys[name] = Buffer.from(value, 'base64');
    }
    this.publicData = { ...(body.public ?? {}) };
    const secret = this.keys.boxSecret;
    if (!secret || secret.length !== 32)
      throw new TamperError(`${KEYS_FILE} has no valid boxSecret`);
    this.key = integrityKey(secret, box);
    this.keysStamp = stamp(keysPath);

    const snapPath = join(dir, SNAPSHOT_FILE);
    if (!existsSync(snapPath)) throw new TamperError(`${SNAPSHOT_FILE} is missing`);
    const [bodyLine, macLine] = readFileSync(snapPath, 'utf8').split('\n');
    if (
      bodyLine === undefined ||
      macLine === undefined ||
      !sameBytes(Buffer.from(macLine, 'hex'), hmacSha256(this.key, `snap|${bodyLine}`))
    ) {
      throw new TamperError(`${SNAPSHOT_FILE} integrity check failed (HMAC)`);
    }
    const snap = JSON.parse(bodyLine) as {
      box: string;
      seq: number;
      data: Record<string, unknown>;
    };
    if (snap.box !== box) throw new TamperError(`${SNAPSHOT_FILE} belongs to another box`);
    for (const [k, v] of Object.entries(snap.data)) this.data.set(k, v);
    this.seq = snap.seq;
    this.snapStamp = stamp(snapPath);

    const logPath = join(dir, LOG_FILE);
    if (!existsSync(logPath)) throw new TamperError(`${LOG_FILE} is missing`);
    this.logFd = openSync(logPath, 'r+');
    this.logSize = this.replay(readFileSync(logPath), snap.seq);
  }

  /** Opens and verifies the NVM in `dir`; throws TamperError on any integrity failure. */
  static open(dir: string, box: string): Nvm {
    return new Nvm(dir, box);
  }

  private replay(log: Buffer, snapSeq: number): number {
    let at = 0;
    let expected: number | undefined;
    while (at < log.length) {
      if (log.length - at < 4) break;
      const length = log.readUInt32BE(at);
      if (length > MAX_FRAME_BYTES * 4)
        throw new TamperError(`${LOG_FILE} record length corrupt at ${at}`);
      if (log.length - at < 4 + length + 32) break;
      const body = log.subarray(at + 4, at + 4 + length);
      const mac = log.subarray(at + 4 + length, at + 4 + length + 32);
      if (!sameBytes(mac, hmacSha256(this.key, Buffer.concat([Buffer.from('log|'), body])))) {
        throw new TamperError(`${LOG_FILE} integrity check failed (HMAC) at offset ${at}`);
      }
      const record = JSON.parse(body.toString('utf8')) as {
        seq: number;
        set: Record<string, unknown>;
      };
      if (expected !== undefined && record.seq !== expected) {
        throw new TamperError(`${LOG_FILE} sequence broken at offset ${at}`);
      }
      expected = record.seq + 1;
      if (record.seq > snapSeq) {
        if (record.seq !== this.seq + 1)
          throw new TamperError(`${LOG_FILE} does not follow the snapshot`);
        for (const [k, v] of Object.entries(record.set)) this.data.set(k, v);
        this.seq = record.seq;
      }
      at += 4 + length + 32;
    }
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
    const body = Buffer.from(JSON.stringify({ seq: this.seq + 1, set }), 'utf8');
    const head = Buffer.alloc(4);
    head.writeUInt32BE(body.length, 0);
    const mac = hmacSha256(this.key, Buffer.concat([Buffer.from('log|'), body]));
    const record = Buffer.concat([head, body, mac]);
    writeSync(this.logFd, record, 0, record.length, this.logSize);
    this.logSize += record.length;
    this.seq += 1;
    for (const [k, v] of this.staged) this.data.set(k, v);
    this.staged.clear();
    return true;
  }

  /** fsync of the log on the thread pool: every record appended so far is durable when it calls back. */
  sync(done: (error: Error | null) => void): void {
    fsync(this.logFd, done);
  }

  /** Folds a long log into a new snapshot; call only while no sync() is in flight. */
  compactIfDue(): void {
    if (this.logSize > COMPACT_BYTES) this.compact();
  }

  discardStaged(): void {
    this.staged.clear();
  }

  private compact(): void {
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
    this.data.clear();
    this.staged.clear();
    try {
      closeSync(this.logFd);
    } catch {
      // already closed
    }
  }
}
