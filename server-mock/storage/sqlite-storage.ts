/**
 * @module storage/sqlite-storage
 * The Storage interface on one SQLite file (better-sqlite3) in WAL mode with synchronous=FULL.
 *
 * Writes go through one queue and are group-committed: every write waiting when the queue runs is
 * wrapped in one BEGIN IMMEDIATE … COMMIT; if one of them fails, the batch is run again with each
 * write in its own SAVEPOINT, so one failing write rolls back alone (a write must therefore keep
 * no state outside the database from one run to the next). A write's promise settles only after
 * COMMIT returned, so nothing leaves the data center before it is durable (DESIGN.md, "Facts from
 * the field": group commit).
 */
import { createHash } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { makeTrackingNumber } from '../../shared/tracking';
import type { MeterRecord } from '../boxes/api';
import { MIGRATIONS } from './migrations';
import {
  StorageConflictError,
  type AlertRow,
  type ClaimRow,
  type CreditCommit,
  type DispenseCommit,
  type DispenseState,
  type LoginRow,
  type MailerRow,
  type OutboxReport,
  PIECE_COLUMN_COUNT,
  PIECE_COLUMNS,
  type PieceInsert,
  pieceRow,
  type PieceRow,
  type RecoveredCommit,
  type RefillRow,
  type SessionRow,
  type SignOnFailures,
  toSignOnFailures,
  type Storage,
} from './storage';

/**
 * The database and its -wal and -shm files are the operator's alone (0600), even when they were
 * made with looser modes before: created 0600 here, and SQLite gives the -wal and -shm files the
 * mode of the database file.
 */
export function secureDatabaseFile(file: string): void {
  closeSync(openSync(file, 'a', 0o600));
  for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
}

const toClaim = (r: Row): ClaimRow => ({
  pieceId: r.piece_id as string,
  kind: r.kind as ClaimRow['kind'],
  claimedBy: r.claimed_by as string,
  firstAt: r.first_at as string,
  lastAt: r.last_at as string,
  seen: r.seen as number,
});

type Row = Record<string, unknown>;
interface Outcome {
  ok: boolean;
  value: unknown;
}
interface PendingWrite {
  run: (db: Database.Database) => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
}

const toMailer = (r: Row): MailerRow => ({
  id: r.id as string,
  username: r.username as string,
  name: r.name as string,
  originZip: r.origin_zip as string,
  verifier: r.verifier as string,
  createdAt: r.created_at as string,
  failedLogins: r.failed_logins as number,
  lockedUntil: (r.locked_until as string | null) ?? null,
  lowBalanceCents: r.low_balance_cents as number,
  autoRefillCents: (r.auto_refill_cents as number | null) ?? null,
  cardToken: (r.card_token as string | null) ?? null,
  demo: r.demo === 1,
});

/** A meter record's columns, in the order recordOf reads them. */
const RECORD_COLUMNS = `serial, account_id, status, demo, ascending_cents, descending_cents, credited_cents, counter,
  wrapped_key, certificate_serial, key_version, mac_period, mac`;

/** A MeterRecord from a raw row of RECORD_COLUMNS (arrays cost less to read than named rows). */
const recordOf = (r: unknown[]): MeterRecord => ({
  serial: r[0] as string,
  accountId: r[1] as string,
  status: r[2] as MeterRecord['status'],
  demo: r[3] === 1,
  ascendingCents: r[4] as number,
  descendingCents: r[5] as number,
  creditedCents: r[6] as number,
  counter: r[7] as number,
  wrappedKey: r[8] as string,
  certificateSerial: r[9] as string,
  keyVersion: r[10] as number,
  macPeriod: r[11] as string,
  mac: r[12] as string,
});

const pieceOf = (r: unknown[]): PieceRow => {
  const piece: PieceRow = {
    pieceId: r[0] as string,
    meterSerial: r[1] as string,
    mailerId: r[2] as string,
    idempotencyKey: (r[3] as string | null) ?? null,
    indicium: new Uint8Array(r[4] as Buffer),
    signature: new Uint8Array(r[5] as Buffer),
    postageCents: r[6] as number,
    ascendingCents: r[7] as number,
    descendingCents: r[8] as number,
    mailClass: r[9] as string,
    originZip: r[10] as string,
    destinationZip: r[11] as string,
    mailingDate: r[12] as string,
    createdAt: r[13] as string,
    status: r[14] as PieceRow['status'],
  };
  if (typeof r[15] === 'string') piece.trackingNumber = r[15];
  return piece;
};

/** A meter record as the UPDATE (and insertMeter) binds it: the columns in order, the serial last. */
export type RecordRow = [
  accountId: string,
  status: string,
  demo: 0 | 1,
  ascendingCents: number,
  descendingCents: number,
  creditedCents: number,
  counter: number,
  wrappedKey: string,
  certificateSerial: string,
  keyVersion: number,
  macPeriod: string,
  mac: string,
  updatedAt: string,
  serial: string,
];
const RECORD_SERIAL = 13;

const recordRow = (r: MeterRecord, now: string): RecordRow => [
  r.accountId,
  r.status,
  r.demo ? 1 : 0,
  r.ascendingCents,
  r.descendingCents,
  r.creditedCents,
  r.counter,
  r.wrappedKey,
  r.certificateSerial,
  r.keyVersion,
  r.macPeriod,
  r.mac,
  now,
  r.serial,
];

/** Where PieceInsert holds the mail class and the tracking number. */
const PIECE_MAIL_CLASS = 9;
const PIECE_TRACKING = 15;

/** A meter's record by serial, and a piece by id (getDispenseState reads both in one transaction). */
const RECORD_BY_SERIAL = `SELECT ${RECORD_COLUMNS} FROM meter_records WHERE serial = ?`;
const PIECE_BY_ID = `SELECT ${PIECE_COLUMNS} FROM pieces WHERE piece_id = ?`;

/** The piece INSERT, built once (the writer binds a PieceInsert to it for every piece). */
const PIECE_INSERT = `INSERT INTO pieces (${PIECE_COLUMNS}) VALUES (${Array(PIECE_COLUMN_COUNT).fill('?').join(', ')})`;

/**
 * A DispenseCommit as flat rows: what the data center's event loop hands to the writer thread
 * (a structured clone of arrays of strings and numbers costs both threads less than one of the
 * commit's nested objects), bound by the writer as it comes.
 */
export type DispenseRows = [
  expectedCounter: number,
  record: RecordRow,
  pieces: PieceInsert[],
  trackingMailerId: string | null,
  /** Each piece's weight (picks a tracking number's service type), null if not given. */
  weights: (number | null)[],
  report: OutboxReport | null,
];

export const dispenseRows = (c: DispenseCommit): DispenseRows => [
  c.expectedCounter,
  recordRow(c.record, new Date().toISOString()),
  c.pieces.map(pieceRow),
  c.trackingMailerId ?? null,
  c.pieces.map((p) => p.weightOz ?? null),
  c.report ?? null,
];

/** One more sign-on failure under a key (parameters: key, now, forgetBefore); the new count. */
const SIGN_ON_FAILURE_UPSERT = `INSERT INTO sign_on_failures (key, failures, last_at) VALUES (?, 1, ?)
  ON CONFLICT (key) DO UPDATE SET
    failures = CASE WHEN sign_on_failures.last_at < ? THEN 1 ELSE sign_on_failures.failures + 1 END,
    last_at = excluded.last_at
  RETURNING failures, last_at`;

/** How long a statement waits for a lock another connection holds. */
const BUSY_TIMEOUT_MS = 5000;

/** A row of PRAGMA wal_checkpoint: whether it was stopped, the log's frames, those copied back. */
interface CheckpointResult {
  busy: number;
  log: number;
  checkpointed: number;
}

/** restartLogPast's pause after a try that found the log in use, and the longest it grows to. */
export const LOG_REWIND_FIRST_PAUSE_MS = 10;
export const LOG_REWIND_LAST_PAUSE_MS = 1000;

export class SqliteStorage implements Storage {
  private readonly db: Database.Database;
  private queue: PendingWrite[] = [];
  private scheduled = false;
  /** When restartLogPast may try again after finding the log in use. */
  private nextLogRewind = 0;
  /** How long restartLogPast waits after its next failed try (doubles while the log stays in use). */
  private logRewindPause = LOG_REWIND_FIRST_PAUSE_MS;
  private closed = false;

  /**
   * `autoCheckpoint: false` (the threaded writer): this connection's commits never copy the log
   * into the database file; a checkpointer thread does (checkpoint-worker.mjs).
   * `logFileLimitBytes`: once the log is rewound, its file is cut back to this size if it grew
   * past it (a reader that held the rewind off for long).
   */
  constructor(
    private readonly file: string,
    options: { autoCheckpoint?: boolean; logFileLimitBytes?: number } = {},
  ) {
    secureDatabaseFile(file);
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    if (options.autoCheckpoint === false) this.db.pragma('wal_autocheckpoint = 0');
    if (options.logFileLimitBytes !== undefined)
      this.db.pragma(`journal_size_limit = ${Math.floor(options.logFileLimitBytes)}`);
    this.migrate();
  }

  private migrate(): void {
    const version = this.db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new Error(
        `database: schema version ${version} is newer than this program (${MIGRATIONS.length}); update the data center`,
      );
    }
    this.db.transaction(() => {
      for (let v = version; v < MIGRATIONS.length; v++) {
        this.db.exec(MIGRATIONS[v] as string);
        if (v === 2) this.carryVerifications();
      }
      this.db.pragma(`user_version = ${MIGRATIONS.length}`);
    })();
  }

  /**
   * v3: verifications were counted by a digest of the whole indicium (signature included); each
   * piece verified before becomes a scan claim, unless it was refunded.
   */
  private carryVerifications(): void {
    const seen = this.db.prepare('SELECT digest, seen, first_at, last_at FROM verifications');
    const counted = new Map<string, Row>();
    for (const row of seen.iterate() as Iterable<Row>) counted.set(row.digest as string, row);
    if (counted.size > 0) {
      const insert = this.db.prepare(
        `INSERT INTO piece_claims (piece_id, kind, claimed_by, first_at, last_at, seen)
           VALUES (?, 'scan', 'verify (before v3)', ?, ?, ?) ON CONFLICT(piece_id) DO NOTHING`,
      );
      const pieces = this.db.prepare('SELECT piece_id, indicium FROM pieces');
      const found: [unknown, Row][] = [];
      for (const p of pieces.iterate() as Iterable<Row>) {
        const digest = createHash('sha256')
          .update(p.indicium as Buffer)
          .digest('hex');
        const v = counted.get(digest);
        if (v) found.push([p.piece_id, v]);
      }
      for (const [pieceId, v] of found) insert.run(pieceId, v.first_at, v.last_at, v.seen);
    }
    this.db.exec('DROP TABLE verifications');
  }

  /** Queues a write; resolves after the COMMIT that made it durable. */
  private write<T>(run: (db: Database.Database) => T): Promise<T> {
    if (this.closed) return Promise.reject(new Error('database: closed'));
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.queue;
    this.queue = [];
    if (batch.length === 0) return;
    let outcomes: Outcome[];
    try {
      // First the whole batch as one transaction; only if a write in it fails, the batch again
      // with a SAVEPOINT for each write, so that one rolls back alone (a savepoint copies each
      // page a write touches into its journal: a cost paid only when a write fails).
      outcomes = this.commitBatch(batch, false) ?? (this.commitBatch(batch, true) as Outcome[]);
    } catch (error) {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
      for (const item of batch) item.reject(error);
      return;
    }
    batch.forEach((item, i) => {
      const outcome = outcomes[i] as Outcome;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.value);
    });
  }

  /**
   * Runs the batch in one BEGIN IMMEDIATE … COMMIT. Without savepoints, a failing write rolls the
   * whole transaction back and the answer is undefined (nothing was stored); with them, the
   * failing write rolls back alone and the others are committed.
   */
  private commitBatch(batch: PendingWrite[], savepoints: boolean): Outcome[] | undefined {
    const outcomes: Outcome[] = [];
    // Prepared once: exec() would parse these statements again for every transaction.
    const tx = (sql: string) => this.stmt(sql).run();
    tx('BEGIN IMMEDIATE');
    for (const item of batch) {
      if (!savepoints) {
        try {
          outcomes.push({ ok: true, value: item.run(this.db) });
        } catch {
          if (this.db.inTransaction) tx('ROLLBACK');
          return undefined;
        }
        continue;
      }
      tx('SAVEPOINT w');
      try {
        outcomes.push({ ok: true, value: item.run(this.db) });
        tx('RELEASE w');
      } catch (error) {
        tx('ROLLBACK TO w');
        tx('RELEASE w');
        outcomes.push({ ok: false, value: error });
      }
    }
    tx('COMMIT');
    return outcomes;
  }

  /**
   * Rewinds the write-ahead log once the frames it holds, `logBytes`, reach `limitBytes`: a
   * RESTART checkpoint copies what is left of it into the database file (the checkpointer has
   * copied all but the last moment's), and the next write starts the log over at the start of
   * its file. The file keeps its size and is written over, so a commit never pays for growing it,
   * and the rewind never pays for cutting it (a TRUNCATE of a 64 MB log held the writer for
   * 40–60 ms). The checkpointer's PASSIVE checkpoints alone never rewind a log that is written to
   * without a pause (SQLite rewinds only when a write starts with the whole log copied back), so
   * under steady load it would grow without end.
   *
   * It does not wait: a checkpoint that finds the log in use or fails returns at once, and tries
   * again later. Found in use by another checkpoint (the checkpointer's), it tries again 10 ms
   * later: that checkpoint is over by then, and a longer wait would let the log grow by its
   * writes. Found in use by a reader, it waits 10 ms, then twice as long at each try, to a second
   * at most, so that a long reader does not cost a checkpoint every 10 ms; a rewind sets the wait
   * back. Returns whether it rewound.
   */
  restartLogPast(limitBytes: number, logBytes: number): boolean {
    if (logBytes < limitBytes) return false;
    const now = Date.now();
    if (now < this.nextLogRewind) return false;
    this.db.pragma('busy_timeout = 0');
    try {
      const [result] = this.db.pragma('wal_checkpoint(RESTART)') as CheckpointResult[];
      if (result?.busy === 0) {
        this.logRewindPause = LOG_REWIND_FIRST_PAUSE_MS;
        return true;
      }
      // SQLite answers log -1 when another checkpoint holds the checkpoint lock.
      if (result?.log === -1) {
        this.nextLogRewind = now + LOG_REWIND_FIRST_PAUSE_MS;
        return false;
      }
    } catch {
      // Whatever stopped it, the log is still whole and every commit durable: try again later.
    } finally {
      this.db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    this.nextLogRewind = now + this.logRewindPause;
    this.logRewindPause = Math.min(2 * this.logRewindPause, LOG_REWIND_LAST_PAUSE_MS);
    return false;
  }

  /**
   * The write-ahead log's frames, in bytes: what a PASSIVE checkpoint (which copies what it can
   * without waiting) reports. For tests; the threaded writer learns it from its checkpointer.
   */
  logBytes(): number {
    const [result] = this.db.pragma('wal_checkpoint(PASSIVE)') as CheckpointResult[];
    return Math.max(0, result?.log ?? 0) * this.logFrameBytes();
  }

  /** One write-ahead log frame of this database: a page and the frame's 24-byte header. */
  logFrameBytes(): number {
    return (this.db.pragma('page_size', { simple: true }) as number) + 24;
  }

  /** Prepared statements, compiled once per SQL text (preparing cost as much as running). */
  private readonly statements = new Map<string, Database.Statement>();

  private stmt(sql: string): Database.Statement {
    let statement = this.statements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql);
      this.statements.set(sql, statement);
    }
    return statement;
  }

  private get(sql: string, ...params: unknown[]): Row | undefined {
    return this.stmt(sql).get(...params) as Row | undefined;
  }

  /** Statements that answer rows as arrays (no object with named columns built per row). */
  private readonly rawStatements = new Map<string, Database.Statement>();

  private raw(sql: string): Database.Statement<unknown[], unknown[]> {
    let statement = this.rawStatements.get(sql);
    if (!statement) {
      statement = this.db.prepare(sql).raw();
      this.rawStatements.set(sql, statement);
    }
    return statement as Database.Statement<unknown[], unknown[]>;
  }

  async createMailer(m: MailerRow): Promise<void> {
    await this.write(() =>
      this.stmt(
        `INSERT INTO mailers (id, username, name, origin_zip, verifier, created_at, failed_logins, locked_until,
             low_balance_cents, auto_refill_cents, card_token, demo)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        m.id,
        m.username,
        m.name,
        m.originZip,
        m.verifier,
        m.createdAt,
        m.failedLogins,
        m.lockedUntil,
        m.lowBalanceCents,
        m.autoRefillCents,
        m.cardToken,
        m.demo ? 1 : 0,
      ),
    );
  }

  async findMailerByUsername(username: string): Promise<MailerRow | undefined> {
    const row = this.get('SELECT * FROM mailers WHERE username = ?', username);
    return row && toMailer(row);
  }

  async getMailer(id: string): Promise<MailerRow | undefined> {
    const row = this.get('SELECT * FROM mailers WHERE id = ?', id);
    return row && toMailer(row);
  }

  async updateMailerSettings(
    mailerId: string,
    s: { lowBalanceCents: number; autoRefillCents: number | null; cardToken?: string | null },
  ): Promise<void> {
    await this.write(() => {
      this.stmt('UPDATE mailers SET low_balance_cents = ?, auto_refill_cents = ? WHERE id = ?').run(
        s.lowBalanceCents,
        s.autoRefillCents,
        mailerId,
      );
      if (s.cardToken !== undefined)
        this.stmt('UPDATE mailers SET card_token = ? WHERE id = ?').run(s.cardToken, mailerId);
    });
  }

  async setCardToken(mailerId: string, cardToken: string): Promise<void> {
    await this.write(() =>
      this.stmt('UPDATE mailers SET card_token = ? WHERE id = ?').run(cardToken, mailerId),
    );
  }

  async insertMeter(mailerId: string, record: MeterRecord, certificatePem: string): Promise<void> {
    const now = new Date().toISOString();
    await this.write(() => {
      this.stmt(
        'INSERT INTO meters (serial, mailer_id, certificate_serial, certificate_pem, created_at) VALUES (?, ?, ?, ?, ?)',
      ).run(record.serial, mailerId, record.certificateSerial, certificatePem, now);
      // The columns in RecordRow's order, as the UPDATE binds them.
      this.stmt(
        `INSERT INTO meter_records (account_id, status, demo, ascending_cents, descending_cents, credited_cents, counter,
           wrapped_key, certificate_serial, key_version, mac_period, mac, updated_at, serial)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(...recordRow(record, now));
    });
  }

  async getDispenseState(
    serial: string,
    pieceIds: readonly string[],
  ): Promise<DispenseState | undefined> {
    this.dispenseRead ??= this.db.transaction((serial: string, pieceIds: readonly string[]) => {
      const row = this.raw(RECORD_BY_SERIAL).get(serial);
      if (!row) return undefined;
      const piece = this.raw(PIECE_BY_ID);
      return {
        record: recordOf(row),
        pieces: pieceIds.map((id) => {
          const found = piece.get(id);
          return found && pieceOf(found);
        }),
      };
    });
    return this.dispenseRead(serial, pieceIds);
  }

  /** getDispenseState's reads in one read transaction: one snapshot, one look at the log. */
  private dispenseRead?: (serial: string, pieceIds: readonly string[]) => DispenseState | undefined;

  async getMeterRecord(serial: string): Promise<MeterRecord | undefined> {
    const row = this.raw(RECORD_BY_SERIAL).get(serial);
    return row && recordOf(row);
  }

  async getMeterByMailer(mailerId: string): Promise<MeterRecord | undefined> {
    const row = this.raw(
      `SELECT ${RECORD_COLUMNS} FROM meter_records WHERE serial = (SELECT serial FROM meters WHERE mailer_id = ?)`,
    ).get(mailerId);
    return row && recordOf(row);
  }

  /** One process owns the file (the data directory's run lock): the flows' own mutex suffices. */
  async withMeterLock<T>(_serial: string, work: () => Promise<T>): Promise<T> {
    return work();
  }

  private storeRecord(record: MeterRecord, expectedCounter: number): void {
    this.storeRecordRow(recordRow(record, new Date().toISOString()), expectedCounter);
  }

  /** The record's row (RecordRow), if its counter is still `expectedCounter`. */
  private storeRecordRow(row: RecordRow, expectedCounter: number): void {
    const result = this.stmt(
      `UPDATE meter_records SET account_id = ?, status = ?, demo = ?, ascending_cents = ?, descending_cents = ?,
         credited_cents = ?, counter = ?, wrapped_key = ?, certificate_serial = ?, key_version = ?, mac_period = ?, mac = ?,
         updated_at = ? WHERE serial = ? AND counter = ?`,
    ).run(...row, expectedCounter);
    if (result.changes !== 1)
      throw new StorageConflictError(
        `meter ${row[RECORD_SERIAL]}: the stored record changed during the transaction`,
      );
  }

  private insertPieces(pieces: PieceRow[]): void {
    for (const p of pieces) this.insertPieceRow(pieceRow(p));
  }

  private insertPieceRow(row: PieceInsert): void {
    this.stmt(PIECE_INSERT).run(row);
  }

  async allocateTrackingSerials(count: number): Promise<number[]> {
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`tracking: bad count ${count}`);
    // In the group commit like every write (on its own it was a COMMIT and an fsync per call).
    const first = await this.write(() => this.takeTrackingSerials(count));
    return Array.from({ length: count }, (_, i) => first + i);
  }

  /** Inside a write: the counter moves in the same transaction as what uses the serials. */
  private takeTrackingSerials(count: number): number {
    const row = this.stmt(
      "UPDATE counters SET value = value + ? WHERE name = 'tracking' RETURNING value",
    ).get(count) as Row;
    return (row.value as number) - count + 1;
  }

  private applyCredit(c: CreditCommit): void {
    if (c.kind === 'refill') {
      const r = c.refill;
      this.stmt(
        'INSERT INTO refills (id, meter_serial, mailer_id, amount_cents, card_last4, card_fingerprint, created_at, receipt, signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ).run(
        r.id,
        c.record.serial,
        r.mailerId,
        r.amountCents,
        r.cardLast4,
        r.cardFingerprint ?? null,
        r.createdAt,
        r.receipt,
        r.signature,
      );
    } else {
      const r = c.refund;
      // A piece is scanned or refunded, never both: the refund holds the piece's one claim.
      const claim = this.stmt('SELECT kind FROM piece_claims WHERE piece_id = ?').get(r.pieceId) as
        Row | undefined;
      if (claim?.kind === 'scan')
        throw new StorageConflictError(`piece ${r.pieceId}: scanned by the post office`);
      if (!claim)
        this.stmt(
          `INSERT INTO piece_claims (piece_id, kind, claimed_by, first_at, last_at, seen)
             VALUES (?, 'refund', 'refund', ?, ?, 0)`,
        ).run(r.pieceId, r.createdAt, r.createdAt);
      this.stmt(
        'INSERT INTO refunds (piece_id, meter_serial, amount_cents, created_at, receipt, signature) VALUES (?, ?, ?, ?, ?, ?)',
      ).run(r.pieceId, c.record.serial, r.amountCents, r.createdAt, r.receipt, r.signature);
      const changed = this.stmt(
        "UPDATE pieces SET status = 'refunded' WHERE piece_id = ? AND status = 'issued'",
      ).run(r.pieceId);
      if (changed.changes !== 1)
        throw new StorageConflictError(`piece ${r.pieceId}: already refunded`);
    }
  }

  async commitDispense(c: DispenseCommit): Promise<(string | null)[]> {
    return this.commitDispenseRows(dispenseRows(c));
  }

  /**
   * commitDispense on the rows dispenseRows made (the writer thread gets these: flat arrays cost
   * less to pass between threads than the commit's objects, and bind as they are).
   */
  async commitDispenseRows(d: DispenseRows): Promise<(string | null)[]> {
    const [expectedCounter, record, pieces, trackingMailerId, weights, report] = d;
    // The numbers the pieces came with: a write may run twice (flush), so it starts from these.
    const given = pieces.map((p) => p[PIECE_TRACKING]);
    return this.write(() => {
      this.storeRecordRow(record, expectedCounter);
      if (trackingMailerId !== null) {
        const missing = given.filter((n) => n === null).length;
        let next = missing > 0 ? this.takeTrackingSerials(missing) : 0;
        pieces.forEach((p, i) => {
          p[PIECE_TRACKING] =
            given[i] ??
            makeTrackingNumber(
              p[PIECE_MAIL_CLASS],
              trackingMailerId,
              next++,
              weights[i] ?? undefined,
            );
        });
      }
      for (const p of pieces) this.insertPieceRow(p);
      if (report) this.insertReport(report);
      return pieces.map((p) => p[PIECE_TRACKING]);
    });
  }

  private insertReport(report: OutboxReport | undefined): void {
    if (report)
      this.stmt('INSERT OR IGNORE INTO postal_outbox (seq, body, signature) VALUES (?, ?, ?)').run(
        report.seq,
        report.body,
        report.signature,
      );
  }

  async postalOutbox(limit: number): Promise<OutboxReport[]> {
    return this.stmt('SELECT seq, body, signature FROM postal_outbox ORDER BY seq LIMIT ?').all(
      limit,
    ) as OutboxReport[];
  }

  async clearPostalOutbox(seq: number): Promise<void> {
    await this.write(() => this.stmt('DELETE FROM postal_outbox WHERE seq <= ?').run(seq));
  }

  async signOnFailures(
    keys: string[],
    forgetBefore: number,
  ): Promise<(SignOnFailures | undefined)[]> {
    return keys.map((key) => {
      const row = this.get(
        'SELECT failures, last_at FROM sign_on_failures WHERE key = ? AND last_at >= ?',
        key,
        forgetBefore,
      );
      return row && toSignOnFailures(row);
    });
  }

  async addSignOnFailures(
    keys: string[],
    now: number,
    forgetBefore: number,
  ): Promise<SignOnFailures[]> {
    return this.write(() => {
      this.stmt('DELETE FROM sign_on_failures WHERE last_at < ?').run(forgetBefore);
      return keys.map((key) => {
        const row = this.stmt(SIGN_ON_FAILURE_UPSERT).get(key, now, forgetBefore) as Row;
        return toSignOnFailures(row);
      });
    });
  }

  async clearSignOnFailures(key: string): Promise<void> {
    await this.write(() => this.stmt('DELETE FROM sign_on_failures WHERE key = ?').run(key));
  }

  async commitCredit(c: CreditCommit): Promise<void> {
    await this.write(() => {
      this.storeRecord(c.record, c.expectedCounter);
      this.applyCredit(c);
    });
  }

  async commitRecovered(c: RecoveredCommit): Promise<void> {
    await this.write(() => {
      this.storeRecord(c.record, c.expectedCounter);
      switch (c.kind) {
        case 'dispense': {
          const known = this.stmt('SELECT 1 FROM pieces WHERE piece_id = ?');
          this.insertPieces(c.pieces.filter((p) => !known.get(p.pieceId)));
          this.insertReport(c.report);
          break;
        }
        case 'refill':
        case 'refund':
          this.applyCredit(c);
          break;
        case 'remac':
          break;
        default:
          c satisfies never;
      }
    });
  }

  async getPiece(pieceId: string): Promise<PieceRow | undefined> {
    const row = this.raw(PIECE_BY_ID).get(pieceId);
    return row && pieceOf(row);
  }

  async history(
    mailerId: string,
    page: number,
    pageSize: number,
    query?: string,
  ): Promise<{ items: PieceRow[]; total: number }> {
    const filter = query
      ? `AND (destination_zip LIKE @q OR piece_id LIKE @q OR mail_class LIKE @q OR mailing_date LIKE @q OR tracking_number LIKE @q)`
      : '';
    const params = {
      mailerId,
      q: `%${(query ?? '').replace(/[%_\\]/g, '\\$&')}%`,
      limit: pageSize,
      offset: (page - 1) * pageSize,
    };
    // A mailer has one meter, and its ascending register orders its pieces as they were issued:
    // the UNIQUE (meter_serial, ascending_cents) index serves the page without a sort.
    const where = `WHERE meter_serial = (SELECT serial FROM meters WHERE mailer_id = @mailerId)
      AND mailer_id = @mailerId ${filter.replace(/LIKE @q/g, "LIKE @q ESCAPE '\\'")}`;
    const total = (this.stmt(`SELECT COUNT(*) AS n FROM pieces ${where}`).get(params) as Row)
      .n as number;
    const rows = this.raw(
      `SELECT ${PIECE_COLUMNS} FROM pieces ${where} ORDER BY ascending_cents DESC LIMIT @limit OFFSET @offset`,
    ).all(params);
    return { items: rows.map(pieceOf), total };
  }

  async *allPieces(mailerId: string): AsyncIterable<PieceRow> {
    const rows = this.raw(
      `SELECT ${PIECE_COLUMNS} FROM pieces WHERE meter_serial = (SELECT serial FROM meters WHERE mailer_id = @mailerId)
         AND mailer_id = @mailerId ORDER BY ascending_cents`,
    ).all({ mailerId });
    for (const row of rows) yield pieceOf(row);
  }

  async getRefill(id: string): Promise<RefillRow | undefined> {
    const r = this.get('SELECT id, amount_cents, card_fingerprint FROM refills WHERE id = ?', id);
    return (
      r && {
        id: r.id as string,
        amountCents: r.amount_cents as number,
        cardFingerprint: (r.card_fingerprint as string | null) ?? null,
      }
    );
  }

  async claimOf(pieceId: string): Promise<ClaimRow | undefined> {
    const row = this.get('SELECT * FROM piece_claims WHERE piece_id = ?', pieceId);
    return row && toClaim(row);
  }

  async noteScan(pieceId: string, scanner: string, at: string): Promise<ClaimRow | undefined> {
    return this.write(() => {
      const row = this.stmt('SELECT * FROM piece_claims WHERE piece_id = ?').get(pieceId) as
        Row | undefined;
      const before = row && toClaim(row);
      if (!before) {
        const status = (
          this.stmt('SELECT status FROM pieces WHERE piece_id = ?').get(pieceId) as Row | undefined
        )?.status;
        if (status !== 'issued') throw new StorageConflictError(`piece ${pieceId}: not issued`);
        this.stmt(
          `INSERT INTO piece_claims (piece_id, kind, claimed_by, first_at, last_at, seen)
             VALUES (?, 'scan', ?, ?, ?, 1)`,
        ).run(pieceId, scanner, at, at);
      } else if (before.kind === 'scan') {
        this.stmt('UPDATE piece_claims SET seen = seen + 1, last_at = ? WHERE piece_id = ?').run(
          at,
          pieceId,
        );
      }
      return before;
    });
  }

  async claimForRefund(pieceId: string, at: string): Promise<'claimed' | 'scanned'> {
    return this.write(() => {
      const kind = (
        this.stmt('SELECT kind FROM piece_claims WHERE piece_id = ?').get(pieceId) as
          Row | undefined
      )?.kind;
      if (kind === 'scan') return 'scanned';
      if (kind === undefined)
        this.stmt(
          `INSERT INTO piece_claims (piece_id, kind, claimed_by, first_at, last_at, seen)
             VALUES (?, 'refund', 'refund', ?, ?, 0)`,
        ).run(pieceId, at, at);
      return 'claimed';
    });
  }

  async releaseRefundClaim(pieceId: string): Promise<void> {
    await this.write(() =>
      this.stmt(
        `DELETE FROM piece_claims WHERE piece_id = ? AND kind = 'refund'
           AND (SELECT status FROM pieces WHERE piece_id = ?) = 'issued'`,
      ).run(pieceId, pieceId),
    );
  }

  async addScanner(name: string, tokenHash: string, at: string): Promise<void> {
    await this.write(() =>
      this.stmt(
        `INSERT INTO scanners (name, token_hash, created_at) VALUES (?, ?, ?)
           ON CONFLICT(name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
      ).run(name, tokenHash, at),
    );
  }

  async scannerByTokenHash(tokenHash: string): Promise<string | undefined> {
    return this.get('SELECT name FROM scanners WHERE token_hash = ?', tokenHash)?.name as
      string | undefined;
  }

  async insertLogin(l: Omit<LoginRow, 'id'>): Promise<void> {
    await this.write(() =>
      this.stmt(
        'INSERT INTO logins (mailer_id, at, address, body, signature) VALUES (?, ?, ?, ?, ?)',
      ).run(l.mailerId, l.at, l.address, l.body, l.signature),
    );
  }

  async lastLogin(mailerId: string): Promise<LoginRow | undefined> {
    const r = this.get(
      'SELECT * FROM logins WHERE mailer_id = ? ORDER BY id DESC LIMIT 1',
      mailerId,
    );
    return (
      r && {
        id: r.id as number,
        mailerId: r.mailer_id as string,
        at: r.at as string,
        address: r.address as string,
        body: r.body as string,
        signature: r.signature as string,
      }
    );
  }

  async insertSession(s: SessionRow): Promise<void> {
    await this.write(() =>
      this.stmt(
        'INSERT INTO sessions (token_hash, mailer_id, grant_json, expires_at, revoked) VALUES (?, ?, ?, ?, 0)',
      ).run(s.tokenHash, s.mailerId, s.grant, s.expiresAt),
    );
  }

  async getSession(tokenHash: string): Promise<SessionRow | undefined> {
    const r = this.get('SELECT * FROM sessions WHERE token_hash = ?', tokenHash);
    return (
      r && {
        tokenHash: r.token_hash as string,
        mailerId: r.mailer_id as string,
        grant: r.grant_json as string,
        expiresAt: r.expires_at as string,
        revoked: r.revoked === 1,
      }
    );
  }

  async revokeSession(tokenHash: string): Promise<void> {
    await this.write(() =>
      this.stmt('UPDATE sessions SET revoked = 1 WHERE token_hash = ?').run(tokenHash),
    );
  }

  async addAlert(a: {
    meterSerial: string | null;
    code: string;
    reason: string;
  }): Promise<AlertRow> {
    const createdAt = new Date().toISOString();
    const id = await this.write(
      () =>
        this.stmt(
          'INSERT INTO fraud_alerts (created_at, meter_serial, code, reason) VALUES (?, ?, ?, ?)',
        ).run(createdAt, a.meterSerial, a.code, a.reason).lastInsertRowid,
    );
    return { id: Number(id), createdAt, ...a };
  }

  async listAlerts(limit = 1000): Promise<AlertRow[]> {
    return (
      this.stmt('SELECT * FROM fraud_alerts ORDER BY id DESC LIMIT ?').all(limit) as Row[]
    ).map((r) => ({
      id: r.id as number,
      createdAt: r.created_at as string,
      meterSerial: (r.meter_serial as string | null) ?? null,
      code: r.code as string,
      reason: r.reason as string,
    }));
  }

  async certificate(serialHex: string): Promise<string | undefined> {
    return this.get('SELECT certificate_pem FROM meters WHERE certificate_serial = ?', serialHex)
      ?.certificate_pem as string | undefined;
  }

  async certificatesPage(
    after: string | undefined,
    limit: number,
  ): Promise<Record<string, string>> {
    const rows = this.stmt(
      `SELECT certificate_serial, certificate_pem FROM meters WHERE certificate_serial > ?
         ORDER BY certificate_serial LIMIT ?`,
    ).all(after ?? '', limit) as Row[];
    return Object.fromEntries(
      rows.map((r) => [r.certificate_serial as string, r.certificate_pem as string]),
    );
  }

  async setAdminTokenHash(hash: string): Promise<void> {
    await this.write(() =>
      this.stmt(
        "INSERT INTO settings (key, value) VALUES ('admin_token_hash', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
      ).run(hash),
    );
  }

  async adminTokenHash(): Promise<string | undefined> {
    return this.get("SELECT value FROM settings WHERE key = 'admin_token_hash'")?.value as
      string | undefined;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.db.close();
  }
}
