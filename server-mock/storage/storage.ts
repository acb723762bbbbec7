/**
 * @module storage/storage
 * The database server (patent part 36) as an async interface: meters (60), mailers (62), meter
 * records (64), transaction records, login records, refills, refunds and fraud alerts. SQLite
 * (sqlite-storage.ts, one process) and PostgreSQL (pg-storage.ts, any number of nodes) serve it;
 * one contract test suite runs against both.
 */
import type { MeterRecord } from '../boxes/api';

export interface MailerRow {
  id: string;
  username: string;
  name: string;
  originZip: string;
  verifier: string; // encrypted under the authentication box's key
  createdAt: string;
  failedLogins: number;
  lockedUntil: string | null;
  lowBalanceCents: number;
  autoRefillCents: number | null;
  cardToken: string | null; // the card processor's token for auto-refill, never a card number
  demo: boolean;
}

export interface PieceRow {
  pieceId: string;
  meterSerial: string;
  mailerId: string;
  idempotencyKey: string | null;
  indicium: Uint8Array;
  signature: Uint8Array;
  postageCents: number;
  ascendingCents: number;
  descendingCents: number;
  mailClass: string;
  originZip: string;
  destinationZip: string;
  mailingDate: string;
  createdAt: string;
  status: 'issued' | 'refunded';
  /** The USPS tracking number the data center assigned (shared/tracking.ts); null before v5. */
  trackingNumber?: string | null;
  /** The weight the mailer gave, if any (not stored): picks the tracking number's service type. */
  weightOz?: number;
}

export interface LoginRow {
  id: number;
  mailerId: string;
  at: string;
  address: string;
  body: string; // canonical JSON that the transaction box signed
  signature: string;
}

export interface AlertRow {
  id: number;
  createdAt: string;
  meterSerial: string | null;
  code: string;
  reason: string;
}

/** How a piece was used: accepted by the post (scan) or refunded. A piece has at most one. */
export interface ClaimRow {
  pieceId: string;
  kind: 'scan' | 'refund';
  /** The scanner's name, or 'refund'. */
  claimedBy: string;
  firstAt: string;
  lastAt: string;
  /** Acceptance scans counted (0 for a refund). */
  seen: number;
}

export interface RefillRow {
  id: string;
  amountCents: number;
  /** The card processor's fingerprint of the card (null for refills made before v3). */
  cardFingerprint: string | null;
}

export interface SessionRow {
  tokenHash: string;
  mailerId: string;
  grant: string; // JSON SessionGrant from the authentication box
  expiresAt: string;
  revoked: boolean;
}

/** A dispense to commit: the new record and its pieces, in one transaction. */
export interface DispenseCommit {
  kind: 'dispense';
  record: MeterRecord;
  expectedCounter: number; // the counter of the record the box was given
  pieces: PieceRow[];
  /** The meter box's signed report for the postal authority, into the outbox. */
  report?: OutboxReport;
  /**
   * The vendor's USPS Mailer ID: each piece without a tracking number gets one under it, from
   * serials taken for this commit (inside its transaction on SQLite, so a dispense waits for one
   * COMMIT, not two).
   */
  trackingMailerId?: string;
}

/** A signed report waiting for the postal authority's receipt. */
export interface OutboxReport {
  seq: number;
  body: string;
  signature: string;
}

/** A card refill as the refills table keeps it. */
export interface RefillInsert {
  id: string;
  mailerId: string;
  amountCents: number;
  cardLast4: string;
  cardFingerprint?: string | null;
  createdAt: string;
  receipt: string;
  signature: string;
}

/** A piece's refund as the refunds table keeps it (the piece becomes refunded). */
export interface RefundInsert {
  pieceId: string;
  amountCents: number;
  createdAt: string;
  receipt: string;
  signature: string;
}

/** A credit to commit: the new record and what the credit was for, in one transaction. */
export type CreditCommit = {
  record: MeterRecord;
  expectedCounter: number;
} & ({ kind: 'refill'; refill: RefillInsert } | { kind: 'refund'; refund: RefundInsert });

/** A re-MACed record (nothing else changes). */
export interface RemacCommit {
  kind: 'remac';
  record: MeterRecord;
  expectedCounter: number;
}

/** What commitRecovered stores: any meter box command's outcome. */
export type RecoveredCommit = DispenseCommit | CreditCommit | RemacCommit;

export class StorageConflictError extends Error {
  readonly code = 'STORAGE_CONFLICT';
  // Named, so that an error that crossed a thread (threaded-storage.ts) is revived as this class.
  override readonly name = 'StorageConflictError';
}

/**
 * The database cannot be reached now (a restart, a lost connection): nothing of the write is
 * known to be stored, and the request may be sent again (HTTP 503, "try again").
 */
export class StorageUnavailableError extends Error {
  readonly code = 'STORAGE_UNAVAILABLE';
  override readonly name = 'StorageUnavailableError';
}

export interface Storage {
  createMailer(mailer: MailerRow): Promise<void>;
  findMailerByUsername(username: string): Promise<MailerRow | undefined>;
  getMailer(id: string): Promise<MailerRow | undefined>;
  updateMailerSettings(
    mailerId: string,
    settings: {
      lowBalanceCents: number;
      autoRefillCents: number | null;
      cardToken?: string | null;
    },
  ): Promise<void>;

  /** Stores the card processor's token for auto-refill; touches no other setting. */
  setCardToken(mailerId: string, cardToken: string): Promise<void>;

  insertMeter(mailerId: string, record: MeterRecord, certificatePem: string): Promise<void>;
  getMeterRecord(serial: string): Promise<MeterRecord | undefined>;
  getMeterByMailer(mailerId: string): Promise<MeterRecord | undefined>;
  /**
   * What a dispense starts from, in one read: the meter's record and the pieces stored under
   * `pieceIds` (undefined where none is), in the order asked. Undefined when the meter has no record.
   */
  getDispenseState(serial: string, pieceIds: readonly string[]): Promise<DispenseState | undefined>;

  /**
   * Runs `work` while holding the meter's lock for every process that serves this database, so
   * the read → meter box → commit of one meter never interleaves across nodes. SQLite has one
   * process (the data directory's run lock); PostgreSQL holds an advisory lock on the serial.
   */
  withMeterLock<T>(serial: string, work: () => Promise<T>): Promise<T>;

  /** Stores a dispense atomically; refuses (StorageConflictError) if the stored counter moved. */
  /** Answers each piece's tracking number as stored (null where it has none), in order. */
  commitDispense(commit: DispenseCommit): Promise<(string | null)[]>;
  /**
   * Reserves `count` tracking serials, atomically across every node of the database, and returns
   * them in ascending order. A reserved serial is never given again; the serials of one call are
   * not always consecutive (PostgreSQL takes them from a sequence that concurrent nodes share).
   */
  allocateTrackingSerials(count: number): Promise<number[]>;
  commitCredit(commit: CreditCommit): Promise<void>;
  /**
   * Stores a record the meter box issued that the database did not get (from its journal, or a
   * re-MAC), with what it records; pieces already stored are skipped.
   */
  commitRecovered(commit: RecoveredCommit): Promise<void>;

  getPiece(pieceId: string): Promise<PieceRow | undefined>;
  history(
    mailerId: string,
    page: number,
    pageSize: number,
    query?: string,
  ): Promise<{ items: PieceRow[]; total: number }>;
  allPieces(mailerId: string): AsyncIterable<PieceRow>;
  getRefill(id: string): Promise<RefillRow | undefined>;

  insertLogin(login: Omit<LoginRow, 'id'>): Promise<void>;
  lastLogin(mailerId: string): Promise<LoginRow | undefined>;

  insertSession(session: SessionRow): Promise<void>;
  getSession(tokenHash: string): Promise<SessionRow | undefined>;
  revokeSession(tokenHash: string): Promise<void>;

  addAlert(alert: { meterSerial: string | null; code: string; reason: string }): Promise<AlertRow>;
  listAlerts(limit?: number): Promise<AlertRow[]>;

  certificate(serialHex: string): Promise<string | undefined>;
  /** Meter certificates in serial order, after `after`, at most `limit`. */
  certificatesPage(after: string | undefined, limit: number): Promise<Record<string, string>>;

  /** How a piece was used, if it was. */
  claimOf(pieceId: string): Promise<ClaimRow | undefined>;
  /**
   * An acceptance scan, in one transaction with any refund: claims an unused piece for the scan,
   * counts a scan of a scanned one, and leaves a refunded one alone. Returns the claim as it was
   * before (undefined for a first scan).
   */
  noteScan(pieceId: string, scanner: string, at: string): Promise<ClaimRow | undefined>;
  /**
   * Claims a piece for its refund before the meter box credits it; 'scanned' when an acceptance
   * scan came first. A refund claim already there (a retry) is the caller's.
   */
  claimForRefund(pieceId: string, at: string): Promise<'claimed' | 'scanned'>;
  /** Gives a refund claim back when the refund did not happen (the piece is still issued). */
  releaseRefundClaim(pieceId: string): Promise<void>;

  addScanner(name: string, tokenHash: string, at: string): Promise<void>;
  scannerByTokenHash(tokenHash: string): Promise<string | undefined>;

  /** The oldest reports not yet receipted by the postal authority, in sequence. */
  postalOutbox(limit: number): Promise<OutboxReport[]>;
  /** Drops the reports a postal receipt covers (sequence ≤ seq). */
  clearPostalOutbox(seq: number): Promise<void>;

  setAdminTokenHash(hash: string): Promise<void>;
  adminTokenHash(): Promise<string | undefined>;

  /**
   * The sign-on throttle's counts under these keys (function/sign-on-throttle.ts), in order:
   * undefined for a key never counted, or last counted before `forgetBefore` (ms since 1970).
   */
  signOnFailures(keys: string[], forgetBefore: number): Promise<(SignOnFailures | undefined)[]>;
  /**
   * One more failure under each key at `now`, atomically on every node (a count last moved before
   * `forgetBefore` starts again at 1); counts older than that are dropped. The new counts, in order.
   */
  addSignOnFailures(keys: string[], now: number, forgetBefore: number): Promise<SignOnFailures[]>;
  /** Forgets the count under this key (the right password). */
  clearSignOnFailures(key: string): Promise<void>;

  close(): Promise<void>;
}

/** Failed sign-ons counted under one throttle key, and when the last one was (ms since 1970). */
export interface SignOnFailures {
  failures: number;
  lastAt: number;
}

/** A meter's record and the pieces a dispense asked for (Storage.getDispenseState). */
export interface DispenseState {
  record: MeterRecord;
  pieces: (PieceRow | undefined)[];
}

/** A piece's columns as both engines store them, in the order of PieceInsert. */
export const PIECE_COLUMNS = `piece_id, meter_serial, mailer_id, idempotency_key, indicium, signature, postage_cents,
  ascending_cents, descending_cents, mail_class, origin_zip, destination_zip, mailing_date, created_at, status,
  tracking_number`;
export const PIECE_COLUMN_COUNT = PIECE_COLUMNS.split(',').length;

/** A piece's values in the order of PIECE_COLUMNS. */
export type PieceInsert = [
  pieceId: string,
  meterSerial: string,
  mailerId: string,
  idempotencyKey: string | null,
  indicium: Uint8Array,
  signature: Uint8Array,
  postageCents: number,
  ascendingCents: number,
  descendingCents: number,
  mailClass: string,
  originZip: string,
  destinationZip: string,
  mailingDate: string,
  createdAt: string,
  status: string,
  trackingNumber: string | null,
];

export const pieceRow = (p: PieceRow): PieceInsert => [
  p.pieceId,
  p.meterSerial,
  p.mailerId,
  p.idempotencyKey,
  p.indicium,
  p.signature,
  p.postageCents,
  p.ascendingCents,
  p.descendingCents,
  p.mailClass,
  p.originZip,
  p.destinationZip,
  p.mailingDate,
  p.createdAt,
  p.status,
  p.trackingNumber ?? null,
];

/** A sign_on_failures row as either engine returns it (PostgreSQL's BIGINTs come as strings). */
export const toSignOnFailures = (row: Record<string, unknown>): SignOnFailures => ({
  failures: Number(row.failures),
  lastAt: Number(row.last_at),
});
