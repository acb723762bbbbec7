/**
 * @module storage/storage
 * The database server (patent part 36) as an async interface: meters (60), mailers (62), meter
 * records (64), transaction records, login records, refills, refunds and fraud alerts. SQLite
 * serves it here; PostgreSQL can serve the same interface at scale.
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

export interface SessionRow {
  tokenHash: string;
  mailerId: string;
  grant: string; // JSON SessionGrant from the authentication box
  expiresAt: string;
  revoked: boolean;
}

/** A dispense to commit: the new record and its pieces, in one transaction. */
export interface DispenseCommit {
  record: MeterRecord;
  expectedCounter: number; // the counter of the record the box was given
  pieces: PieceRow[];
}

export interface CreditCommit {
  record: MeterRecord;
  expectedCounter: number;
  refill?: {
    id: string;
    mailerId: string;
    amountCents: number;
    cardLast4: string;
    createdAt: string;
    receipt: string;
    signature: string;
  };
  refund?: {
    pieceId: string;
    amountCents: number;
    createdAt: string;
    receipt: string;
    signature: string;
  };
}

export class StorageConflictError extends Error {
  readonly code = 'STORAGE_CONFLICT';
}

export interface Storage {
  createMailer(mailer: MailerRow): Promise<void>;
  findMailerByUsername(username: string): Promise<MailerRow | undefined>;
  getMailer(id: string): Promise<MailerRow | undefined>;
  setLoginFailures(
    mailerId: string,
    failedLogins: number,
    lockedUntil: string | null,
  ): Promise<void>;
  updateMailerSettings(
    mailerId: string,
    settings: {
      lowBalanceCents: number;
      autoRefillCents: number | null;
      cardToken?: string | null;
    },
  ): Promise<void>;

  insertMeter(mailerId: string, record: MeterRecord, certificatePem: string): Promise<void>;
  getMeterRecord(serial: string): Promise<MeterRecord | undefined>;
  getMeterByMailer(mailerId: string): Promise<MeterRecord | undefined>;

  /** Stores a dispense atomically; refuses (StorageConflictError) if the stored counter moved. */
  commitDispense(commit: DispenseCommit): Promise<void>;
  commitCredit(commit: CreditCommit): Promise<void>;
  /** Replaces the stored record with one recovered from the meter box's journal, with its pieces. */
  commitRecovered(commit: DispenseCommit | CreditCommit): Promise<void>;

  getPiece(pieceId: string): Promise<PieceRow | undefined>;
  history(
    mailerId: string,
    page: number,
    pageSize: number,
    query?: string,
  ): Promise<{ items: PieceRow[]; total: number }>;
  allPieces(mailerId: string): AsyncIterable<PieceRow>;
  refillExists(id: string): Promise<boolean>;

  insertLogin(login: Omit<LoginRow, 'id'>): Promise<void>;
  lastLogin(mailerId: string): Promise<LoginRow | undefined>;

  insertSession(session: SessionRow): Promise<void>;
  getSession(tokenHash: string): Promise<SessionRow | undefined>;
  revokeSession(tokenHash: string): Promise<void>;

  addAlert(alert: { meterSerial: string | null; code: string; reason: string }): Promise<AlertRow>;
  listAlerts(limit?: number): Promise<AlertRow[]>;

  certificate(serialHex: string): Promise<string | undefined>;
  certificates(): Promise<Record<string, string>>;

  /** Counts a verification of an indicium; returns how many times it was seen before. */
  noteVerification(digest: string, at: string): Promise<number>;
  verificationsOf(digest: string): Promise<number>;

  setAdminTokenHash(hash: string): Promise<void>;
  adminTokenHash(): Promise<string | undefined>;

  close(): Promise<void>;
}
