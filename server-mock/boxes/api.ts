/**
 * @module boxes/api
 * The contract between the data center (function server, patent Fig. 1 part 34) and its secure
 * boxes (parts 38–44). The data center holds only what is here: records with wrapped keys and
 * MACs, verifiers encrypted under the authentication box's key, signatures. No plaintext key
 * ever crosses this line.
 *
 * Every call is one framed command to a box process; errors come back as BoxError with a code.
 */
import type { ErrorCode } from '../../shared/errors';
import type { MailClass } from '../../shared/mail-class';
import type { Signed, SignedReceipt } from '../../shared/postal/wire';

/** Error codes a box answers with. */
export const BOX_ERROR_CODES = [
  'METER_RECORD_BAD_MAC', // the record's MAC does not verify (altered or swapped record)
  'FRESHNESS_MISMATCH', // the record's counter/digest is not what the box's NVM holds (stale or replayed)
  'UNKNOWN_METER', // the box has no NVM entry for this serial
  'INSUFFICIENT_FUNDS', // descending register too low for the postage asked
  'BAD_REQUEST', // the command or its arguments are malformed
  'TAMPERED', // the box detected tampering (NVM integrity) and has zeroized: it serves nothing
  'SELF_TEST_FAILED', // a power-up known-answer test failed: the box serves nothing
  'AUTH_FAILED', // wrong password or a bad/expired session grant
  'BAD_SIGNATURE', // a transaction record's signature does not verify
  'BOX_UNAVAILABLE', // the box process is not running or died mid-command (data center side)
  'METER_SUSPENDED', // the meter is suspended (its record's status, or a fraud alert in the meter box's NVM)
  'GRANT_INVALID', // the session grant's signature does not verify, or it is not the token's grant (forged)
  'GRANT_EXPIRED', // the session grant has expired: the mailer signs in again
  'GRANT_MISMATCH', // the record's signed account is not the grant's mailer: fraud alert, meter suspended
  'RECORD_MAC_EXPIRED', // the record is the box's own last one, MACed in a period past the window: remac it
  'INTERNAL_ERROR', // the box failed in a way none of the above describes (see the box log)
  'WITNESS_UNAVAILABLE', // no fresh postal receipt: not confirmed since start, or at the window edge
  'WITNESS_ROLLBACK', // the postal authority holds later reports than this box: a restored copy
  'WITNESS_MISMATCH', // a receipt or postal CA that is not the one this box is pinned to
  'WRONG_SHARD', // a pooled meter shard: another shard serves this meter (details: shard, shards)
] as const satisfies readonly ErrorCode[];
export type BoxErrorCode = (typeof BOX_ERROR_CODES)[number];

export class BoxError extends Error {
  constructor(
    readonly code: BoxErrorCode,
    message: string,
    readonly box?: string,
    /** Machine-readable facts, e.g. FRESHNESS_MISMATCH carries { nvmCounter, recordCounter }. */
    readonly details?: Record<string, unknown>,
  ) {
    super(message);
    this.name = 'BoxError';
  }
}

/** The meter record (patent: meter record 64), as stored in the database. */
export interface MeterRecord {
  serial: string; // device ID, 12 chars A-Z0-9, e.g. "VPM000000001" (demo meters: "VPD...")
  accountId: string; // mailer id that owns it
  status: 'active' | 'suspended';
  demo: boolean;
  ascendingCents: number;
  descendingCents: number;
  creditedCents: number; // total funded: refills + refunds; invariant asc + desc = credited
  counter: number; // record update counter: the freshness data
  wrappedKey: string; // base64: the token private key wrapped for the meter box (AES-256-GCM)
  certificateSerial: string; // 16 hex digits
  keyVersion: number;
  macPeriod: string; // "YYYY-MM": the key period whose per-meter key made `mac`
  mac: string; // base64 HMAC-SHA-256 over the canonical encoding of every field above
}

/** One mail piece to dispense. */
export interface PieceRequest {
  pieceId: string; // UUID, chosen by the data center
  postageCents: number; // > 0
  mailClass: MailClass;
  originZip: string; // 5 digits
  destinationZip: string; // 5 or 9 digits
  mailingDate: string; // YYYY-MM-DD
}

export interface IssuedIndicium {
  pieceId: string;
  indicium: string; // base64 of the indicium bytes (shared/indicium codec, signed)
  ascendingCents: number;
  descendingCents: number;
  postageCents: number;
}

export interface DispenseResult {
  record: MeterRecord; // counter + 1, MACed in the current period
  indicia: IssuedIndicium[];
  /** The signed report for the postal authority (a box that reports to one). */
  report?: Signed;
}

/** What a credit is for: a card refill (its id) or the refund of one piece. */
export type CreditFor = { kind: 'refill'; refillId: string } | { kind: 'refund'; pieceId: string };

/** The reference text a receipt shows for a credit ("refill:<id>", "refund:<piece>"). */
export function creditReference(credit: CreditFor): string {
  switch (credit.kind) {
    case 'refill':
      return `refill:${credit.refillId}`;
    case 'refund':
      return `refund:${credit.pieceId}`;
    default:
      return credit satisfies never;
  }
}

/**
 * Reads the reference string that credits carried before CreditFor (journals written by an older
 * meter box): "refund:<piece>" is a refund, anything else a refill ("refill:" dropped).
 */
export function parseCreditReference(reference: string): CreditFor {
  return reference.startsWith('refund:')
    ? { kind: 'refund', pieceId: reference.slice('refund:'.length) }
    : { kind: 'refill', refillId: reference.replace(/^refill:/, '') };
}

interface JournalBase {
  requestId: string;
  previousDigest: string; // digest of the record the command was given
  record: MeterRecord; // the record it returned
}

/**
 * What the meter box journals per meter: the last command's outcome, to recover after a crash.
 * Entries written before the union (a credit's `reference: "refund:<piece>"` string) are read
 * through journal.ts's parser of the old form.
 */
export type JournalEntry =
  | (JournalBase & {
      kind: 'dispense';
      indicia: IssuedIndicium[];
      report?: Signed; // a box that reports to the postal authority
    })
  | (JournalBase & { kind: 'credit'; amountCents: number; credit: CreditFor })
  | (JournalBase & { kind: 'remac' });

/** What the meter box says about its standing with the postal authority (witness.ts). */
export interface WitnessStatus {
  boxId: string;
  state: 'off' | 'unconfirmed' | 'confirmed' | 'rolled-back';
  seq: number;
  receiptSeq: number;
  /** Pieces dispensed since the last receipt. */
  ahead: number;
  /** Unreceipted report sequence → meter serial (to find a report the database lost). */
  open: Record<string, string>;
}

/** Why the meter box suspended a meter (kept in its NVM until an administrator reinstates it). */
export interface MeterSuspension {
  code: 'METER_RECORD_BAD_MAC' | 'FRESHNESS_MISMATCH' | 'GRANT_MISMATCH';
  at: string; // ISO time, the box's clock
  reason: string;
}

/** What a money-moving meter command carries: the authentication box's grant and its bearer token. */
export interface MailerAuth {
  grant: SessionGrant;
  token: string;
}

export interface MeterBoxApi {
  /**
   * Fig. 4 steps 200–265 for a batch of pieces of one meter. `requestId` names the command in the
   * journal; `auth` must be a live grant for the record's account (GRANT_MISMATCH otherwise).
   */
  dispense(args: {
    requestId: string;
    record: MeterRecord;
    pieces: PieceRequest[];
    auth: MailerAuth;
  }): Promise<DispenseResult>;
  /** Refill or refund: descending += amount, credited += amount, counter + 1. Needs the owner's grant. */
  credit(args: {
    requestId: string;
    record: MeterRecord;
    amountCents: number;
    credit: CreditFor;
    auth: MailerAuth;
  }): Promise<{ record: MeterRecord }>;
  /**
   * A new MAC in the current key period for the record this box issued last (counter + 1, nothing
   * else changes; journaled like any command). For dormant meters, whose MAC period ages out.
   */
  remac(args: { record: MeterRecord }): Promise<{ record: MeterRecord }>;
  /** Lifts a suspension kept in the box's NVM; answers the suspension it lifted, or null. */
  reinstate(args: { serial: string; reason: string }): Promise<{ lifted: MeterSuspension | null }>;
  /** The suspension the box holds for a meter, or null. */
  suspension(args: { serial: string }): Promise<{ suspension: MeterSuspension | null }>;
  /** The journaled last command for this meter (after a crash between box and database). */
  recover(args: { serial: string }): Promise<JournalEntry | null>;
  /** Signature check of an indicium against the meter's key the box knows. */
  verifyIndicium(args: { indicium: string }): Promise<{ valid: boolean; serial: string }>;
  /**
   * Pins the postal authority's CA (first use; another CA is WITNESS_MISMATCH) and answers a
   * signed start challenge with a fresh nonce. Windows are capped by the box.
   */
  witnessChallenge(args: {
    postalCaPem: string;
    windowPieces?: number;
    windowMs?: number;
  }): Promise<{ challenge: Signed; certificatePem: string }>;
  /** Takes a postal receipt: the answer to the start challenge, or to reports. */
  witnessReceipt(args: { receipt: SignedReceipt }): Promise<WitnessStatus>;
  witnessStatus(): Promise<WitnessStatus>;
}

/** Key management: the steel box creates meter accounts (patent part 38). */
export interface SteelBoxApi {
  createMeter(args: {
    accountId: string;
    demo: boolean;
  }): Promise<{ record: MeterRecord; certificatePem: string }>;
  /** The vendor CA certificate that signs every meter certificate. */
  vendorCa(): Promise<{ certificatePem: string }>;
}

/** A session grant issued by the authentication box (see grant.ts). */
export interface SessionGrant {
  mailerId: string;
  sessionId: string;
  expiresAt: string; // ISO time
  tokenHash: string; // hex SHA-256 of the session's bearer token
  signature: string; // base64 ECDSA P-256 (r || s) by the authentication box's grant key
}

export interface AuthBoxApi {
  /** Turns a password into a verifier (scrypt) encrypted under the box's key. */
  enroll(args: { mailerId: string; password: string }): Promise<{ verifier: string }>;
  /**
   * Checks a password against a stored verifier inside the box; answers a signed, expiring grant
   * for the session whose bearer token hashes to `tokenHash`.
   */
  authenticate(args: {
    mailerId: string;
    password: string;
    verifier: string;
    ttlSeconds: number;
    tokenHash: string;
  }): Promise<SessionGrant>;
  /** Checks a grant's signature and expiry. AUTH_FAILED if bad or expired. */
  checkGrant(args: { grant: SessionGrant }): Promise<{ mailerId: string; sessionId: string }>;
}

export interface TransactionBoxApi {
  /** Signs a transaction record (login, refill receipt, refund receipt) in canonical JSON form. */
  sign(args: { kind: string; body: Record<string, unknown> }): Promise<{ signature: string }>;
  verify(args: {
    kind: string;
    body: Record<string, unknown>;
    signature: string;
  }): Promise<{ valid: boolean }>;
  /** The box's certificate from the vendor CA (null for a data center made before there was one). */
  certificate(args: Record<string, never>): Promise<{ certificatePem: string | null }>;
}

/** The running set of boxes, as the data center sees them. */
export interface Boxes {
  meter: MeterBoxApi;
  steel: SteelBoxApi;
  auth: AuthBoxApi;
  txn: TransactionBoxApi;
  close(): Promise<void>;
}

/** What each error code means, for logs, admin views and the test that every code is documented. */
export const BOX_ERROR_DOCS: Record<BoxErrorCode, string> = {
  METER_RECORD_BAD_MAC:
    'The meter record was altered, swapped, or MACed in a key period outside the window: fraud alert.',
  FRESHNESS_MISMATCH:
    "The record is not the one the meter box issued last. details.nvmCounter is the box's counter; if details.journaled is true, call recover(serial) and store the journaled record.",
  UNKNOWN_METER:
    'The meter box has no NVM entry for this serial (and the record is not a first use).',
  INSUFFICIENT_FUNDS: 'The descending register is lower than the postage asked: refill first.',
  BAD_REQUEST: 'The command, its version or its arguments are malformed.',
  TAMPERED: 'The box found its NVM altered, zeroized its keys and serves nothing.',
  SELF_TEST_FAILED: 'A power-up known-answer test failed: the box serves nothing.',
  AUTH_FAILED: 'Wrong password, a verifier that does not open, or a bad or expired session grant.',
  BAD_SIGNATURE: 'A transaction record signature is malformed (not 64 bytes of base64).',
  BOX_UNAVAILABLE: 'The box process is not running or died before it answered.',
  WRONG_SHARD:
    'A meter shard of the pool was asked about a meter another shard serves; the node re-reads the pool and routes again.',
  METER_SUSPENDED:
    'The meter is suspended (after a fraud alert, or by its record status): it dispenses no postage until an administrator reinstates it.',
  GRANT_INVALID:
    "The session grant's signature does not verify, or the bearer token is not the grant's: a forged session, fraud alert.",
  GRANT_EXPIRED: 'The session grant has expired: sign in again.',
  GRANT_MISMATCH:
    "The meter record's signed account is not the grant's mailer: fraud alert, and the meter box suspends the meter.",
  RECORD_MAC_EXPIRED:
    "The record is the meter box's own last record but its MAC period is past the window: call remac({record}), store the answer, retry.",
  INTERNAL_ERROR: 'The box failed unexpectedly; the box log has the reason.',
  WITNESS_UNAVAILABLE:
    'The meter box reports to the postal authority and has no fresh receipt: not confirmed since it started, or a full window of pieces or minutes ahead of its last receipt. Try again once the postal authority answers.',
  WITNESS_ROLLBACK:
    "The postal authority holds later reports from this box than the box's own state: the box runs from a restored copy and dispenses nothing.",
  WITNESS_MISMATCH:
    'A postal receipt or CA that is not the one this box is pinned to (another postal authority, a bad signature, or a stale nonce).',
};
