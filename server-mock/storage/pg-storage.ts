/**
 * @module storage/pg-storage
 * The Storage interface on PostgreSQL (node-postgres), for a data center of several API nodes.
 * Every write is one transaction, and its promise settles after COMMIT returned. What keeps one
 * meter consistent across nodes lives in the database, never in one process's memory:
 *   - withMeterLock holds a session advisory lock on the meter's serial (on a connection of its
 *     own) for the whole read → meter box → commit, so two nodes never run one meter at once;
 *   - each commit updates the record only if its counter is the one the box was given
 *     (a row lock: StorageConflictError otherwise), and a piece's claim takes the piece's row lock.
 * Serialization failures and deadlocks are retried a bounded number of times; a database that
 * cannot be reached (restart, lost connection) is StorageUnavailableError: the caller says "try
 * again" (HTTP 503), and the retry finds the meter box's journal if the box had answered.
 * Money columns are BIGINT, read back as JavaScript numbers (refused past 2^53).
 */
import pg from 'pg';
import type { MeterRecord } from '../boxes/api';
import { PG_MIGRATIONS } from './pg-migrations';
import { withAllocatedTrackingNumbers } from './tracking-numbers';
import {
  StorageConflictError,
  StorageUnavailableError,
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
  pieceRow,
  type PieceRow,
  type RecoveredCommit,
  type RefillRow,
  type SessionRow,
  type SignOnFailures,
  toSignOnFailures,
  type Storage,
} from './storage';

type Row = Record<string, unknown>;
type Queryable = Pick<pg.PoolClient, 'query'>;

const INT8_OID = 20;

/** BIGINT as a number; a value past 2^53 would lose cents, so it is refused. */
function parseBigint(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n))
    throw new Error(`database: integer ${text} is past 2^53; refusing to round money`);
  return n;
}

const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === INT8_OID && format !== 'binary'
      ? parseBigint
      : pg.types.getTypeParser(oid, format ?? 'text')) as typeof pg.types.getTypeParser,
};

/** How many times a transaction is run again after a serialization failure or deadlock. */
const RETRIES = 3;
const RETRYABLE = new Set(['40001', '40P01']);

/** A serialization failure or deadlock on the `attempt`th try (from 0) that may be run again. */
function mayRetry(error: unknown, attempt: number): boolean {
  const code = (error as { code?: string }).code;
  return code !== undefined && RETRYABLE.has(code) && attempt < RETRIES;
}
/** Connection exceptions (08…), shutdown and start-up (57P…), too many connections (53300). */
const UNAVAILABLE_CODE = /^(08|57P0[1-3]|53300$)/;
const UNAVAILABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
]);

/** True when the error says the database could not be reached, not that a statement failed. */
export function isUnavailable(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  if (
    typeof e?.code === 'string' &&
    (UNAVAILABLE_CODE.test(e.code) || UNAVAILABLE_ERRNO.has(e.code))
  )
    return true;
  const message = typeof e?.message === 'string' ? e.message : '';
  return /Connection terminated|connection error|timeout exceeded when trying to connect|Client was closed|not queryable|terminating connection/i.test(
    message,
  );
}

/** A database error as the flows know it: unreachable, a UNIQUE violation, or as it is. */
function translate(error: unknown): unknown {
  if (isUnavailable(error)) return unavailable(error);
  const e = error as { code?: string; message?: string };
  if (e?.code === '23505' && !(error instanceof StorageConflictError))
    return Object.assign(new Error(`database: UNIQUE constraint failed (${e.message})`), {
      code: 'UNIQUE_VIOLATION',
    });
  return error;
}

function unavailable(error: unknown): StorageUnavailableError {
  const why = (error as { message?: string })?.message ?? String(error);
  return new StorageUnavailableError(`database: unreachable now (${why}); try again`);
}

/** 64-bit advisory lock key of a meter serial (a stable hash; collisions only serialize more). */
function lockKey(serial: string): string {
  let h = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(`meter:${serial}`))
    h = BigInt.asUintN(64, (h ^ BigInt(byte)) * 0x100000001b3n);
  return BigInt.asIntN(64, h).toString();
}

const MIGRATION_LOCK = '7364151601';

/**
 * A checked-out connection whose server goes away while it runs no query emits 'error'; without
 * a listener that would end the process. The next query on it fails, and that failure is handled.
 */
const ignoreIdleError = (): void => undefined;

async function checkout(pool: pg.Pool): Promise<pg.PoolClient> {
  const client = await pool.connect();
  client.on('error', ignoreIdleError);
  return client;
}

function giveBack(client: pg.PoolClient, broken?: Error): void {
  client.off('error', ignoreIdleError);
  client.release(broken);
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
  demo: r.demo === true,
});

const toRecord = (r: Row): MeterRecord => ({
  serial: r.serial as string,
  accountId: r.account_id as string,
  status: r.status as MeterRecord['status'],
  demo: r.demo === true,
  ascendingCents: r.ascending_cents as number,
  descendingCents: r.descending_cents as number,
  creditedCents: r.credited_cents as number,
  counter: r.counter as number,
  wrappedKey: r.wrapped_key as string,
  certificateSerial: r.certificate_serial as string,
  keyVersion: r.key_version as number,
  macPeriod: r.mac_period as string,
  mac: r.mac as string,
});

const toPiece = (r: Row): PieceRow => ({
  pieceId: r.piece_id as string,
  meterSerial: r.meter_serial as string,
  mailerId: r.mailer_id as string,
  idempotencyKey: (r.idempotency_key as string | null) ?? null,
  indicium: new Uint8Array(r.indicium as Buffer),
  signature: new Uint8Array(r.signature as Buffer),
  postageCents: r.postage_cents as number,
  ascendingCents: r.ascending_cents as number,
  descendingCents: r.descending_cents as number,
  mailClass: r.mail_class as string,
  originZip: r.origin_zip as string,
  destinationZip: r.destination_zip as string,
  mailingDate: r.mailing_date as string,
  createdAt: r.created_at as string,
  status: r.status as PieceRow['status'],
  ...(typeof r.tracking_number === 'string' ? { trackingNumber: r.tracking_number } : {}),
});

const toClaim = (r: Row): ClaimRow => ({
  pieceId: r.piece_id as string,
  kind: r.kind as ClaimRow['kind'],
  claimedBy: r.claimed_by as string,
  firstAt: r.first_at as string,
  lastAt: r.last_at as string,
  seen: r.seen as number,
});

const RECORD_COLUMNS = [
  'serial',
  'account_id',
  'status',
  'demo',
  'ascending_cents',
  'descending_cents',
  'credited_cents',
  'counter',
  'wrapped_key',
  'certificate_serial',
  'key_version',
  'mac_period',
  'mac',
  'updated_at',
] as const;

const recordValues = (rec: MeterRecord, now: string): unknown[] => [
  rec.serial,
  rec.accountId,
  rec.status,
  rec.demo,
  rec.ascendingCents,
  rec.descendingCents,
  rec.creditedCents,
  rec.counter,
  rec.wrappedKey,
  rec.certificateSerial,
  rec.keyVersion,
  rec.macPeriod,
  rec.mac,
  now,
];

/** A piece's values in the order of PIECE_COLUMNS; node-postgres sends a Buffer as bytea. */
const pieceValues = (p: PieceRow): unknown[] =>
  pieceRow(p).map((value) => (value instanceof Uint8Array ? Buffer.from(value) : value));

const recordChanged = (serial: string) =>
  new StorageConflictError(`meter ${serial}: the stored record changed during the transaction`);

/** The record's update, only at the expected counter: recordValues(), then that counter. */
const RECORD_UPDATE = `UPDATE meter_records SET ${RECORD_COLUMNS.slice(1)
  .map((column, i) => `${column} = $${i + 2}`)
  .join(', ')} WHERE serial = $1 AND counter = $${RECORD_COLUMNS.length + 1}`;

const PIECE_COLUMN_NAMES = PIECE_COLUMNS.split(',').map((column) => column.trim());

/**
 * getDispenseState in one round trip: the record's row, joined with each piece asked for that is
 * stored (its columns named p_…); one row with NULL pieces when none is, no row without a record.
 */
const DISPENSE_STATE = `SELECT r.*, ${PIECE_COLUMN_NAMES.map((column) => `p.${column} AS p_${column}`).join(', ')}
  FROM meter_records r LEFT JOIN pieces p ON p.piece_id = ANY($2::text[]) WHERE r.serial = $1`;

/** PostgreSQL types of PIECE_COLUMNS, in order (rows from VALUES carry no column types). */
const PIECE_TYPES = [
  'text', // piece_id
  'text', // meter_serial
  'text', // mailer_id
  'text', // idempotency_key
  'bytea', // indicium
  'bytea', // signature
  'bigint', // postage_cents
  'bigint', // ascending_cents
  'bigint', // descending_cents
  'text', // mail_class
  'text', // origin_zip
  'text', // destination_zip
  'text', // mailing_date
  'text', // created_at
  'text', // status
  'text', // tracking_number
] as const;
if (PIECE_TYPES.length !== PIECE_COLUMN_COUNT)
  throw new Error('pg-storage: PIECE_TYPES must name a type for every piece column');

/** Dispenses of up to this many pieces have a prepared statement of their own per connection. */
const PREPARED_PIECES = 8;
const dispenseStatements = new Map<string, { name: string | undefined; text: string }>();

/**
 * The dispense's commit as one statement: the record's update (only at the counter the box was
 * given), then the pieces and the report only if it matched; `updated` is 1 when it did.
 * Parameters: the record's columns, the expected counter, each piece's columns, the report's.
 */
function dispenseStatement(
  pieces: number,
  report: boolean,
): { name: string | undefined; text: string } {
  const key = `${pieces}:${report ? 1 : 0}`;
  let statement = dispenseStatements.get(key);
  if (statement) return statement;
  let n = RECORD_COLUMNS.length + 1; // the expected counter
  const parts = [`WITH rec AS (${RECORD_UPDATE} RETURNING 1)`];
  if (pieces > 0) {
    const tuples = Array.from(
      { length: pieces },
      () => `(${PIECE_TYPES.map((type) => `$${++n}::${type}`).join(', ')})`,
    );
    parts.push(
      `, pieces_in AS (INSERT INTO pieces (${PIECE_COLUMNS}) SELECT * FROM (VALUES ${tuples.join(', ')}) AS v WHERE EXISTS (SELECT 1 FROM rec))`,
    );
  }
  if (report)
    parts.push(
      `, report_in AS (INSERT INTO postal_outbox (seq, body, signature) SELECT $${++n}::bigint, $${++n}::text, $${++n}::text WHERE EXISTS (SELECT 1 FROM rec) ON CONFLICT (seq) DO NOTHING)`,
    );
  parts.push(' SELECT count(*)::int AS updated FROM rec');
  statement = {
    name: pieces <= PREPARED_PIECES ? `vpm-dispense-${key.replace(':', '-')}` : undefined,
    text: parts.join(''),
  };
  dispenseStatements.set(key, statement);
  return statement;
}

export interface PgStorageOptions {
  /** Connections for queries and commits (default 10). */
  poolSize?: number;
  /** Connections that hold meter locks (default 16): meters served at once by this node. */
  lockPoolSize?: number;
  /** How long to wait for a connection before the request fails with "try again" (ms). */
  connectTimeoutMs?: number;
  /**
   * How long a request waits for a meter that another node holds (default 15 s); then it is
   * refused with "try again" (a node that hangs holding a meter does not hold it for ever: its
   * lock goes with its connection when it dies).
   */
  meterLockTimeoutMs?: number;
}

export class PgStorage implements Storage {
  private readonly pool: pg.Pool;
  /** Meter locks hold a connection for a whole request; kept apart so commits never wait on them. */
  private readonly lockPool: pg.Pool;
  private closed = false;

  private constructor(url: string, options: PgStorageOptions) {
    const common = {
      connectionString: url,
      types,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      application_name: 'vpm-datacenter',
    };
    this.pool = new pg.Pool({ ...common, max: options.poolSize ?? 10 });
    this.lockPool = new pg.Pool({
      ...common,
      max: options.lockPoolSize ?? 16,
      options: `-c lock_timeout=${Math.max(1, Math.round(options.meterLockTimeoutMs ?? 15_000))}`,
    });
    // An idle connection that the server dropped (a restart) must not end the process: the pool
    // discards it and the next query connects again.
    this.pool.on('error', () => undefined);
    this.lockPool.on('error', () => undefined);
  }

  /** Connects, and brings the schema to this program's version (once, whichever node is first). */
  static async open(url: string, options: PgStorageOptions = {}): Promise<PgStorage> {
    const storage = new PgStorage(url, options);
    try {
      await storage.migrate();
    } catch (error) {
      await storage.close();
      throw isUnavailable(error) ? unavailable(error) : error;
    }
    return storage;
  }

  private async migrate(): Promise<void> {
    const client = await checkout(this.pool);
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query('CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)');
      const found = await client.query('SELECT version FROM schema_version');
      let version = (found.rows[0]?.version as number | undefined) ?? 0;
      if (found.rowCount === 0) await client.query('INSERT INTO schema_version VALUES (0)');
      if (version > PG_MIGRATIONS.length)
        throw new Error(
          `database: schema version ${version} is newer than this program (${PG_MIGRATIONS.length}); update the data center`,
        );
      for (; version < PG_MIGRATIONS.length; version++)
        await client.query(PG_MIGRATIONS[version] as string);
      await client.query('UPDATE schema_version SET version = $1', [version]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      giveBack(client);
    }
  }

  /** The schema version stored (for tests and `vpm datacenter status`). */
  async schemaVersion(): Promise<number> {
    return (await this.one('SELECT version FROM schema_version'))?.version as number;
  }

  /**
   * One statement in a transaction of its own. `name` makes it a prepared statement on each
   * connection (parsed and planned once there): for the statements of every dispense.
   */
  private async query(sql: string, params: unknown[] = [], name?: string): Promise<Row[]> {
    if (this.closed) throw new Error('database: closed');
    try {
      return (await this.pool.query(name ? { name, text: sql, values: params } : sql, params))
        .rows as Row[];
    } catch (error) {
      throw translate(error);
    }
  }

  private async one(sql: string, params: unknown[] = [], name?: string): Promise<Row | undefined> {
    return (await this.query(sql, params, name))[0];
  }

  /**
   * One transaction on one connection; its promise settles after COMMIT. A serialization failure
   * or deadlock runs it again, at most RETRIES times.
   */
  private async transaction<T>(work: (db: Queryable) => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('database: closed');
    for (let attempt = 0; ; attempt++) {
      let client: pg.PoolClient;
      try {
        client = await checkout(this.pool);
      } catch (error) {
        throw isUnavailable(error) ? unavailable(error) : error;
      }
      let broken: unknown;
      try {
        await client.query('BEGIN');
        const value = await work(client);
        await client.query('COMMIT');
        return value;
      } catch (error) {
        if (isUnavailable(error)) {
          broken = error;
          throw unavailable(error);
        }
        await client.query('ROLLBACK').catch((e: unknown) => (broken = e));
        if (mayRetry(error, attempt)) continue;
        throw translate(error);
      } finally {
        giveBack(client, broken instanceof Error ? broken : undefined);
      }
    }
  }

  /**
   * One statement as its own transaction, run again after a serialization failure or deadlock
   * (as transaction() does); a database that cannot be reached is StorageUnavailableError.
   */
  private async statement(
    name: string | undefined,
    text: string,
    values: unknown[],
  ): Promise<Row[]> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.query(text, values, name);
      } catch (error) {
        if (mayRetry(error, attempt)) continue;
        throw error;
      }
    }
  }

  async withMeterLock<T>(serial: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new Error('database: closed');
    let client: pg.PoolClient;
    try {
      client = await checkout(this.lockPool);
      await client
        .query({ name: 'vpm-meter-lock', text: 'SELECT pg_advisory_lock($1)' }, [lockKey(serial)])
        .catch((error: unknown) => {
          giveBack(client, error instanceof Error ? error : new Error(String(error)));
          throw error;
        });
    } catch (error) {
      if ((error as { code?: string }).code === '55P03')
        throw new StorageUnavailableError(
          `meter ${serial}: another request holds it for too long; try again`,
        );
      throw isUnavailable(error) ? unavailable(error) : error;
    }
    let broken: Error | undefined;
    try {
      return await work();
    } finally {
      // A lock whose connection died is gone with it; a live one is given back explicitly.
      await client
        .query({ name: 'vpm-meter-unlock', text: 'SELECT pg_advisory_unlock($1)' }, [
          lockKey(serial),
        ])
        .catch((error: unknown) => {
          broken = error instanceof Error ? error : new Error(String(error));
        });
      giveBack(client, broken);
    }
  }

  async createMailer(m: MailerRow): Promise<void> {
    await this.transaction((db) =>
      db.query(
        `INSERT INTO mailers (id, username, name, origin_zip, verifier, created_at, failed_logins, locked_until,
             low_balance_cents, auto_refill_cents, card_token, demo)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
        [
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
          m.demo,
        ],
      ),
    );
  }

  async findMailerByUsername(username: string): Promise<MailerRow | undefined> {
    const row = await this.one('SELECT * FROM mailers WHERE username = $1', [username]);
    return row && toMailer(row);
  }

  async getMailer(id: string): Promise<MailerRow | undefined> {
    const row = await this.one('SELECT * FROM mailers WHERE id = $1', [id]);
    return row && toMailer(row);
  }

  async updateMailerSettings(
    mailerId: string,
    s: { lowBalanceCents: number; autoRefillCents: number | null; cardToken?: string | null },
  ): Promise<void> {
    await this.transaction(async (db) => {
      await db.query(
        'UPDATE mailers SET low_balance_cents = $1, auto_refill_cents = $2 WHERE id = $3',
        [s.lowBalanceCents, s.autoRefillCents, mailerId],
      );
      if (s.cardToken !== undefined)
        await db.query('UPDATE mailers SET card_token = $1 WHERE id = $2', [s.cardToken, mailerId]);
    });
  }

  async setCardToken(mailerId: string, cardToken: string): Promise<void> {
    await this.query('UPDATE mailers SET card_token = $1 WHERE id = $2', [cardToken, mailerId]);
  }

  async insertMeter(mailerId: string, record: MeterRecord, certificatePem: string): Promise<void> {
    const now = new Date().toISOString();
    await this.transaction(async (db) => {
      await db.query(
        'INSERT INTO meters (serial, mailer_id, certificate_serial, certificate_pem, created_at) VALUES ($1, $2, $3, $4, $5)',
        [record.serial, mailerId, record.certificateSerial, certificatePem, now],
      );
      await db.query(
        `INSERT INTO meter_records (${RECORD_COLUMNS.join(', ')})
           VALUES (${RECORD_COLUMNS.map((_, i) => `$${i + 1}`).join(', ')})`,
        recordValues(record, now),
      );
    });
  }

  async getDispenseState(
    serial: string,
    pieceIds: readonly string[],
  ): Promise<DispenseState | undefined> {
    const rows = await this.query(DISPENSE_STATE, [serial, pieceIds], 'vpm-dispense-state');
    const first = rows[0];
    if (!first) return undefined;
    const found = new Map<string, PieceRow>();
    for (const row of rows) {
      if (row.p_piece_id === null) continue;
      const piece: Row = {};
      for (const column of PIECE_COLUMN_NAMES) piece[column] = row[`p_${column}`];
      found.set(row.p_piece_id as string, toPiece(piece));
    }
    return { record: toRecord(first), pieces: pieceIds.map((id) => found.get(id)) };
  }

  async getMeterRecord(serial: string): Promise<MeterRecord | undefined> {
    const row = await this.one(
      'SELECT * FROM meter_records WHERE serial = $1',
      [serial],
      'vpm-meter-record',
    );
    return row && toRecord(row);
  }

  async getMeterByMailer(mailerId: string): Promise<MeterRecord | undefined> {
    const row = await this.one(
      'SELECT r.* FROM meter_records r JOIN meters m ON m.serial = r.serial WHERE m.mailer_id = $1',
      [mailerId],
    );
    return row && toRecord(row);
  }

  /** The new record, if the stored one still has the counter the box was given (row lock). */
  private async storeRecord(db: Queryable, record: MeterRecord, expected: number): Promise<void> {
    const result = await db.query(RECORD_UPDATE, [
      ...recordValues(record, new Date().toISOString()),
      expected,
    ]);
    if (result.rowCount !== 1) throw recordChanged(record.serial);
  }

  /** A recovered dispense's pieces; those already stored are skipped. */
  private async insertRecoveredPieces(db: Queryable, pieces: PieceRow[]): Promise<void> {
    if (pieces.length === 0) return;
    const columns = PIECE_COLUMN_COUNT;
    const values: unknown[] = [];
    const tuples = pieces.map((p, i) => {
      values.push(...pieceValues(p));
      return `(${Array.from({ length: columns }, (_, j) => `$${i * columns + j + 1}`).join(', ')})`;
    });
    await db.query(
      `INSERT INTO pieces (${PIECE_COLUMNS})
       VALUES ${tuples.join(', ')} ON CONFLICT (piece_id) DO NOTHING`,
      values,
    );
  }

  private async insertReport(db: Queryable, report: DispenseCommit['report']): Promise<void> {
    if (report)
      await db.query(
        'INSERT INTO postal_outbox (seq, body, signature) VALUES ($1, $2, $3) ON CONFLICT (seq) DO NOTHING',
        [report.seq, report.body, report.signature],
      );
  }

  private async applyCredit(db: Queryable, c: CreditCommit): Promise<void> {
    if (c.kind === 'refill') {
      const r = c.refill;
      await db.query(
        `INSERT INTO refills (id, meter_serial, mailer_id, amount_cents, card_last4, card_fingerprint, created_at, receipt, signature)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [
          r.id,
          c.record.serial,
          r.mailerId,
          r.amountCents,
          r.cardLast4,
          r.cardFingerprint ?? null,
          r.createdAt,
          r.receipt,
          r.signature,
        ],
      );
      return;
    }
    const r = c.refund;
    // A piece is scanned or refunded, never both: the refund holds the piece's one claim, taken
    // under the piece's row lock, as a scan takes it.
    const piece = (
      await db.query('SELECT status FROM pieces WHERE piece_id = $1 FOR UPDATE', [r.pieceId])
    ).rows[0] as Row | undefined;
    const claim = (await db.query('SELECT kind FROM piece_claims WHERE piece_id = $1', [r.pieceId]))
      .rows[0] as Row | undefined;
    if (claim?.kind === 'scan')
      throw new StorageConflictError(`piece ${r.pieceId}: scanned by the post office`);
    if (piece?.status !== 'issued')
      throw new StorageConflictError(`piece ${r.pieceId}: already refunded`);
    if (!claim)
      await db.query(
        `INSERT INTO piece_claims (piece_id, kind, claimed_by, first_at, last_at, seen)
           VALUES ($1, 'refund', 'refund', $2, $2, 0)`,
        [r.pieceId, r.createdAt],
      );
    await db.query(
      'INSERT INTO refunds (piece_id, meter_serial, amount_cents, created_at, receipt, signature) VALUES ($1, $2, $3, $4, $5, $6)',
      [r.pieceId, c.record.serial, r.amountCents, r.createdAt, r.receipt, r.signature],
    );
    await db.query("UPDATE pieces SET status = 'refunded' WHERE piece_id = $1", [r.pieceId]);
  }

  /**
   * Two round trips: the tracking serials (a sequence: no lock, no flush of its own), then the
   * record, the pieces and the report in one statement, which is one transaction. Its pieces and
   * report are written only if the record was (the stored counter is the one the box was given).
   */
  async commitDispense(c: DispenseCommit): Promise<(string | null)[]> {
    const pieces = c.trackingMailerId
      ? await withAllocatedTrackingNumbers(this, c.pieces, c.trackingMailerId)
      : c.pieces;
    const { name, text } = dispenseStatement(pieces.length, c.report !== undefined);
    const values = [...recordValues(c.record, new Date().toISOString()), c.expectedCounter];
    for (const p of pieces) values.push(...pieceValues(p));
    if (c.report) values.push(c.report.seq, c.report.body, c.report.signature);
    const [row] = await this.statement(name, text, values);
    if (row?.updated !== 1) throw recordChanged(c.record.serial);
    return pieces.map((p) => p.trackingNumber ?? null);
  }

  async allocateTrackingSerials(count: number): Promise<number[]> {
    if (!Number.isSafeInteger(count) || count < 1) throw new Error(`tracking: bad count ${count}`);
    const rows = await this.query(
      "SELECT nextval('tracking_serials') AS serial FROM generate_series(1, $1)",
      [count],
      'vpm-tracking-serials',
    );
    return rows.map((r) => Number(r.serial)).sort((a, b) => a - b);
  }

  async commitCredit(c: CreditCommit): Promise<void> {
    await this.transaction(async (db) => {
      await this.storeRecord(db, c.record, c.expectedCounter);
      await this.applyCredit(db, c);
    });
  }

  async commitRecovered(c: RecoveredCommit): Promise<void> {
    await this.transaction(async (db) => {
      await this.storeRecord(db, c.record, c.expectedCounter);
      switch (c.kind) {
        case 'dispense':
          await this.insertRecoveredPieces(db, c.pieces);
          await this.insertReport(db, c.report);
          break;
        case 'refill':
        case 'refund':
          await this.applyCredit(db, c);
          break;
        case 'remac':
          break;
        default:
          c satisfies never;
      }
    });
  }

  async postalOutbox(limit: number): Promise<OutboxReport[]> {
    return (await this.query(
      'SELECT seq, body, signature FROM postal_outbox ORDER BY seq LIMIT $1',
      [limit],
    )) as unknown as OutboxReport[];
  }

  async clearPostalOutbox(seq: number): Promise<void> {
    await this.query('DELETE FROM postal_outbox WHERE seq <= $1', [seq]);
  }

  async signOnFailures(
    keys: string[],
    forgetBefore: number,
  ): Promise<(SignOnFailures | undefined)[]> {
    const rows = await this.query(
      'SELECT key, failures, last_at FROM sign_on_failures WHERE key = ANY($1) AND last_at >= $2',
      [keys, forgetBefore],
    );
    const byKey = new Map(rows.map((row) => [row.key as string, row]));
    return keys.map((key) => {
      const row = byKey.get(key);
      return row && toSignOnFailures(row);
    });
  }

  async addSignOnFailures(
    keys: string[],
    now: number,
    forgetBefore: number,
  ): Promise<SignOnFailures[]> {
    await this.query('DELETE FROM sign_on_failures WHERE last_at < $1', [forgetBefore]);
    // One statement for all the keys: each count moves atomically, and nodes counting the same
    // key at once each add their one.
    const rows = await this.query(
      `INSERT INTO sign_on_failures (key, failures, last_at)
         SELECT key, 1, $2 FROM unnest($1::text[]) AS key
         ON CONFLICT (key) DO UPDATE SET
           failures = CASE WHEN sign_on_failures.last_at < $3 THEN 1 ELSE sign_on_failures.failures + 1 END,
           last_at = EXCLUDED.last_at
         RETURNING key, failures, last_at`,
      [keys, now, forgetBefore],
    );
    const byKey = new Map(rows.map((row) => [row.key as string, toSignOnFailures(row)]));
    return keys.map((key) => byKey.get(key) as SignOnFailures);
  }

  async clearSignOnFailures(key: string): Promise<void> {
    await this.query('DELETE FROM sign_on_failures WHERE key = $1', [key]);
  }

  async getPiece(pieceId: string): Promise<PieceRow | undefined> {
    const row = await this.one('SELECT * FROM pieces WHERE piece_id = $1', [pieceId], 'vpm-piece');
    return row && toPiece(row);
  }

  async history(
    mailerId: string,
    page: number,
    pageSize: number,
    query?: string,
  ): Promise<{ items: PieceRow[]; total: number }> {
    // ILIKE: SQLite's LIKE ignores ASCII case, and both engines answer alike.
    const filter = query
      ? `AND (destination_zip ILIKE $2 OR piece_id ILIKE $2 OR mail_class ILIKE $2 OR mailing_date ILIKE $2 OR tracking_number ILIKE $2)`
      : '';
    const q = `%${(query ?? '').replace(/[%_\\]/g, '\\$&')}%`;
    const where = `WHERE meter_serial = (SELECT serial FROM meters WHERE mailer_id = $1)
      AND mailer_id = $1 ${filter}`;
    const params = query ? [mailerId, q] : [mailerId];
    const total = (await this.one(`SELECT COUNT(*) AS n FROM pieces ${where}`, params))
      ?.n as number;
    const n = params.length;
    const rows = await this.query(
      `SELECT * FROM pieces ${where} ORDER BY ascending_cents DESC LIMIT $${n + 1} OFFSET $${n + 2}`,
      [...params, pageSize, (page - 1) * pageSize],
    );
    return { items: rows.map(toPiece), total };
  }

  async *allPieces(mailerId: string): AsyncIterable<PieceRow> {
    const rows = await this.query(
      `SELECT * FROM pieces WHERE meter_serial = (SELECT serial FROM meters WHERE mailer_id = $1)
         AND mailer_id = $1 ORDER BY ascending_cents`,
      [mailerId],
    );
    for (const row of rows) yield toPiece(row);
  }

  async getRefill(id: string): Promise<RefillRow | undefined> {
    const r = await this.one(
      'SELECT id, amount_cents, card_fingerprint FROM refills WHERE id = $1',
      [id],
    );
    return (
      r && {
        id: r.id as string,
        amountCents: r.amount_cents as number,
        cardFingerprint: (r.card_fingerprint as string | null) ?? null,
      }
    );
  }

  async claimOf(pieceId: string): Promise<ClaimRow | undefined> {
    const row = await this.one('SELECT * FROM piece_claims WHERE piece_id = $1', [pieceId]);
    return row && toClaim(row);
  }

  async noteScan(pieceId: string, scanner: string, at: string): Promise<ClaimRow | undefined> {
    return this.transaction(async (db) => {
      const piece = (
        await db.query('SELECT status FROM pieces WHERE piece_id = $1 FOR UPDATE', [pieceId])
      ).rows[0] as Row | undefined;
      const row = (await db.query('SELECT * FROM piece_claims WHERE piece_id = $1', [pieceId]))
        .rows[0] as Row | undefined;
      const before = row && toClaim(row);
      if (!before) {
        if (piece?.status !== 'issued')
          throw new StorageConflictError(`piece ${pieceId}: not issued`);
        await db.query(
          `INSERT INTO piece_claims (piece_id, kind, claimed_by, first_at, last_at, seen)
             VALUES ($1, 'scan', $2, $3, $3, 1)`,
          [pieceId, scanner, at],
        );
      } else if (before.kind === 'scan') {
        await db.query(
          'UPDATE piece_claims SET seen = seen + 1, last_at = $1 WHERE piece_id = $2',
          [at, pieceId],
        );
      }
      return before;
    });
  }

  async claimForRefund(pieceId: string, at: string): Promise<'claimed' | 'scanned'> {
    return this.transaction(async (db) => {
      await db.query('SELECT 1 FROM pieces WHERE piece_id = $1 FOR UPDATE', [pieceId]);
      const kind = (await db.query('SELECT kind FROM piece_claims WHERE piece_id = $1', [pieceId]))
        .rows[0]?.kind as string | undefined;
      if (kind === 'scan') return 'scanned';
      if (kind === undefined)
        await db.query(
          `INSERT INTO piece_claims (piece_id, kind, claimed_by, first_at, last_at, seen)
             VALUES ($1, 'refund', 'refund', $2, $2, 0)`,
          [pieceId, at],
        );
      return 'claimed';
    });
  }

  async releaseRefundClaim(pieceId: string): Promise<void> {
    await this.query(
      `DELETE FROM piece_claims WHERE piece_id = $1 AND kind = 'refund'
         AND (SELECT status FROM pieces WHERE piece_id = $1) = 'issued'`,
      [pieceId],
    );
  }

  async addScanner(name: string, tokenHash: string, at: string): Promise<void> {
    await this.query(
      `INSERT INTO scanners (name, token_hash, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at`,
      [name, tokenHash, at],
    );
  }

  async scannerByTokenHash(tokenHash: string): Promise<string | undefined> {
    return (await this.one('SELECT name FROM scanners WHERE token_hash = $1', [tokenHash]))
      ?.name as string | undefined;
  }

  async insertLogin(l: Omit<LoginRow, 'id'>): Promise<void> {
    await this.query(
      'INSERT INTO logins (mailer_id, at, address, body, signature) VALUES ($1, $2, $3, $4, $5)',
      [l.mailerId, l.at, l.address, l.body, l.signature],
    );
  }

  async lastLogin(mailerId: string): Promise<LoginRow | undefined> {
    const r = await this.one('SELECT * FROM logins WHERE mailer_id = $1 ORDER BY id DESC LIMIT 1', [
      mailerId,
    ]);
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
    await this.query(
      'INSERT INTO sessions (token_hash, mailer_id, grant_json, expires_at, revoked) VALUES ($1, $2, $3, $4, FALSE)',
      [s.tokenHash, s.mailerId, s.grant, s.expiresAt],
    );
  }

  async getSession(tokenHash: string): Promise<SessionRow | undefined> {
    const r = await this.one('SELECT * FROM sessions WHERE token_hash = $1', [tokenHash]);
    return (
      r && {
        tokenHash: r.token_hash as string,
        mailerId: r.mailer_id as string,
        grant: r.grant_json as string,
        expiresAt: r.expires_at as string,
        revoked: r.revoked === true,
      }
    );
  }

  async revokeSession(tokenHash: string): Promise<void> {
    await this.query('UPDATE sessions SET revoked = TRUE WHERE token_hash = $1', [tokenHash]);
  }

  async addAlert(a: {
    meterSerial: string | null;
    code: string;
    reason: string;
  }): Promise<AlertRow> {
    const createdAt = new Date().toISOString();
    const row = await this.one(
      'INSERT INTO fraud_alerts (created_at, meter_serial, code, reason) VALUES ($1, $2, $3, $4) RETURNING id',
      [createdAt, a.meterSerial, a.code, a.reason],
    );
    return { id: row?.id as number, createdAt, ...a };
  }

  async listAlerts(limit = 1000): Promise<AlertRow[]> {
    return (await this.query('SELECT * FROM fraud_alerts ORDER BY id DESC LIMIT $1', [limit])).map(
      (r) => ({
        id: r.id as number,
        createdAt: r.created_at as string,
        meterSerial: (r.meter_serial as string | null) ?? null,
        code: r.code as string,
        reason: r.reason as string,
      }),
    );
  }

  async certificate(serialHex: string): Promise<string | undefined> {
    return (
      await this.one('SELECT certificate_pem FROM meters WHERE certificate_serial = $1', [
        serialHex,
      ])
    )?.certificate_pem as string | undefined;
  }

  async certificatesPage(
    after: string | undefined,
    limit: number,
  ): Promise<Record<string, string>> {
    const rows = await this.query(
      `SELECT certificate_serial, certificate_pem FROM meters WHERE certificate_serial COLLATE "C" > $1
         ORDER BY certificate_serial COLLATE "C" LIMIT $2`,
      [after ?? '', limit],
    );
    return Object.fromEntries(
      rows.map((r) => [r.certificate_serial as string, r.certificate_pem as string]),
    );
  }

  async setAdminTokenHash(hash: string): Promise<void> {
    await this.setSetting('admin_token_hash', hash);
  }

  async adminTokenHash(): Promise<string | undefined> {
    return this.setting('admin_token_hash');
  }

  /** A value of the settings table (the data center this database belongs to, …). */
  async setting(key: string): Promise<string | undefined> {
    return (await this.one('SELECT value FROM settings WHERE key = $1', [key]))?.value as
      string | undefined;
  }

  async setSetting(key: string, value: string): Promise<void> {
    await this.query(
      'INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
      [key, value],
    );
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([this.pool.end(), this.lockPool.end()]);
  }
}
