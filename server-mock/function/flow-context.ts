/**
 * @module function/flow-context
 * What the function server's flows (patent part 34) share: the storage (36), the boxes (38–44),
 * the per-meter serialization, and short-lived copies of rows every request reads (the mailer,
 * the mailer's meter serial). The meter record itself is never cached: the meter box must see
 * what is stored.
 */
import { hash } from 'node:crypto';
import type * as Api from '../../shared/api/schemas';
import type { Boxes, MailerAuth, MeterRecord } from '../boxes/api';
import type { MailerRow, Storage } from '../storage/storage';
import { ApiError } from './api-error';
import type { CardProcessor } from './card-processor';
import { KeyedMutex } from './keyed-mutex';
import type { SignOnThrottleOptions } from './sign-on-throttle';

export interface DataCenterOptions {
  /** Every meter created here is a demo meter (offline demo mode). */
  demo: boolean;
  sessionTtlSeconds?: number;
  refundWindowDays?: number;
  /** Days after today a mailing date may be (default 7); today is always allowed. */
  mailingWindowDays?: number;
  /** The vendor's USPS Mailer ID (6 or 9 digits) that tracking numbers are assigned under. */
  uspsMailerId?: string;
  /** How sign-on guessing is slowed (per source, per source and account). */
  signOn?: SignOnThrottleOptions;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** The link to the postal authority (postal-witness.ts); absent: rollback protection is off. */
  witness?: { kick(): void; settle(ms: number): Promise<boolean> };
}

export interface Caller {
  mailerId: string;
  tokenHash: string;
  /** The authentication box's grant and the bearer token: what the meter box checks. */
  auth: MailerAuth;
}

/** Hex SHA-256 (one-shot: no Hash object per call). */
export const sha256 = (data: string | Uint8Array): string => hash('sha256', data);

/** The RFC 4122 variant's first hex digit for a digest's hex digit (its two top bits set to 10). */
const VARIANT = '89ab89ab89ab89ab';

/**
 * A piece id derived from the mailer and the client's idempotency key: a retry finds its piece.
 * The first 16 bytes of SHA-256, as a UUID of version 8 (custom) and the RFC 4122 variant.
 */
export function pieceIdFor(mailerId: string, idempotencyKey: string): string {
  const x = sha256(`piece\n${mailerId}\n${idempotencyKey}`);
  const variant = VARIANT[parseInt(x.charAt(16), 16)] as string;
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-8${x.slice(13, 16)}-${variant}${x.slice(17, 20)}-${x.slice(20, 32)}`;
}

/**
 * Rows kept for a short time: a plain Map (a hit costs a lookup and a clock compare, less than an
 * LRU's bookkeeping), emptied whole when it reaches `max` entries, so its size stays bounded.
 */
export class RowCache<V> {
  private readonly rows = new Map<string, { value: V; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly max = 100_000,
  ) {}

  get(key: string, now = Date.now()): V | undefined {
    const hit = this.rows.get(key);
    if (hit === undefined) return undefined;
    if (hit.until > now) return hit.value;
    this.rows.delete(key);
    return undefined;
  }

  set(key: string, value: V, now = Date.now()): void {
    if (this.rows.size >= this.max && !this.rows.has(key)) this.rows.clear();
    this.rows.set(key, { value, until: now + this.ttlMs });
  }

  delete(key: string): void {
    this.rows.delete(key);
  }
}

/** Canonical JSON for what the transaction box signs: the boxes' own (shared/canonical-json.ts). */
export { canonicalJson } from '../../shared/canonical-json';

/**
 * How long the data center trusts its in-memory copy of a session or a mailer row before it reads
 * the database again. Changes made through the data center itself (sign-out, settings, lockout)
 * take effect at once; the window only bounds changes made to the database from outside.
 */
export const ROW_CACHE_MS = 10_000;

export class FlowContext {
  /** Requests for one meter queue here first, so a node holds one database lock per meter. */
  private readonly meterLocks = new KeyedMutex();
  private readonly mailers = new RowCache<MailerRow>(ROW_CACHE_MS);
  /** mailer id → meter serial: fixed when the account is made. */
  private readonly serials = new RowCache<string>(Number.POSITIVE_INFINITY);
  readonly refundWindowMs: number;

  constructor(
    readonly storage: Storage,
    readonly boxes: Boxes,
    readonly cards: CardProcessor,
    readonly options: DataCenterOptions,
  ) {
    this.refundWindowMs = (options.refundWindowDays ?? 30) * 86_400_000;
  }

  /**
   * Runs one meter's read → meter box → commit alone: in this process (the fast path), and for
   * every node of the database (the storage's meter lock).
   */
  withMeter<T>(serial: string, work: () => Promise<T>): Promise<T> {
    return this.meterLocks.run(serial, () => this.storage.withMeterLock(serial, work));
  }

  log(event: string, fields: Record<string, unknown>): void {
    this.options.log?.(event, fields);
  }

  /** A fraud alert: stored, and logged. */
  async alert(serial: string | null, code: string, reason: string): Promise<void> {
    await this.storage.addAlert({ meterSerial: serial, code, reason });
    this.log('fraud-alert', { meter: serial, code, reason });
  }

  /** The meter record as stored now (never cached: the meter box must see what is stored). */
  async meterOf(mailerId: string): Promise<MeterRecord> {
    const serial = this.serials.get(mailerId);
    const record = serial
      ? await this.storage.getMeterRecord(serial)
      : await this.storage.getMeterByMailer(mailerId);
    if (!record) throw new ApiError('NOT_FOUND', 'account: this mailer has no meter');
    if (serial !== record.serial) this.serials.set(mailerId, record.serial);
    return record;
  }

  /** The meter serial of a mailer if this process knows it already (no read, no promise). */
  knownSerial(mailerId: string): string | undefined {
    return this.serials.get(mailerId);
  }

  /** The mailer row if a fresh copy is cached (no read, no promise). */
  knownMailer(mailerId: string): MailerRow | undefined {
    return this.mailers.get(mailerId);
  }

  async serialOf(mailerId: string): Promise<string> {
    return this.serials.get(mailerId) ?? (await this.meterOf(mailerId)).serial;
  }

  async mailerOf(mailerId: string): Promise<MailerRow> {
    const cached = this.mailers.get(mailerId);
    if (cached) return cached;
    const mailer = await this.storage.getMailer(mailerId);
    if (!mailer) throw new ApiError('UNAUTHENTICATED', 'account: unknown mailer; sign in again');
    this.mailers.set(mailerId, mailer);
    return mailer;
  }

  /** Drops the cached mailer row after a change made here. */
  forgetMailer(mailerId: string): void {
    this.mailers.delete(mailerId);
  }

  accountOf(mailer: MailerRow, record: MeterRecord, suspended = false): Api.Account {
    return {
      username: mailer.username,
      name: mailer.name,
      originZip: mailer.originZip,
      meterSerial: record.serial,
      certificateSerial: record.certificateSerial,
      balanceCents: record.descendingCents,
      ascendingCents: record.ascendingCents,
      creditedCents: record.creditedCents,
      lowBalanceCents: mailer.lowBalanceCents,
      autoRefillCents: mailer.autoRefillCents,
      demo: record.demo,
      status: suspended ? 'suspended' : record.status,
    };
  }

  /** The account; its status says whether the meter box holds the meter suspended. */
  async account(caller: Caller): Promise<Api.Account> {
    const record = await this.meterOf(caller.mailerId);
    const { suspension } = await this.boxes.meter.suspension({ serial: record.serial });
    return this.accountOf(await this.mailerOf(caller.mailerId), record, suspension !== null);
  }
}
