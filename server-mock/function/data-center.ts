/**
 * @module function/data-center
 * The function server (patent part 34): the request flows of Fig. 3 over the storage (36) and the
 * secure boxes (38–44). For a postage request: load mailer and meter record → authentication
 * box (session grant) → meter box (Fig. 4) → one database transaction storing the new record and
 * the transaction records → answer. Requests for one meter are serialized; other meters run in
 * parallel. An indicium is answered only after the COMMIT that records it returned.
 * Who owns a meter is the meter box's decision: every command that moves money carries the
 * caller's grant from the authentication box and its bearer token, and the box refuses a record
 * whose signed account is another mailer (GRANT_MISMATCH: fraud alert, meter suspended in the
 * box until `reinstate`). The tables here only find the record to show the box.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { decodeIndicium, INDICIUM_LENGTH, PAYLOAD_LENGTH } from '../../shared/indicium/codec';
import { verifyIndicium, type Verdict } from '../../shared/indicium/verify';
import type * as Api from '../../shared/api/schemas';
import { isCalendarDate } from '../../shared/calendar-date';
import { formatDecimal, formatDollars, MAX_CENTS } from '../../shared/money';
import {
  BoxError,
  type Boxes,
  type IssuedIndicium,
  type JournalEntry,
  type MailerAuth,
  type MeterRecord,
  type MeterSuspension,
  type SessionGrant,
} from '../boxes/api';
import { MAC_PERIOD_WINDOW, periodDistance, periodOf } from '../boxes/record-mac';
import { LRUCache } from 'lru-cache';
import type { ClaimRow, MailerRow, PieceRow, SessionRow, Storage } from '../storage/storage';
import { StorageConflictError } from '../storage/storage';
import { ApiError } from './api-error';
import type { CardProcessor } from './card-processor';
import { KeyedMutex } from './keyed-mutex';
import { outboxReport } from './postal-witness';
import { SignOnThrottle, type SignOnThrottleOptions } from './sign-on-throttle';

export interface DataCenterOptions {
  /** Every meter created here is a demo meter (offline demo mode). */
  demo: boolean;
  sessionTtlSeconds?: number;
  refundWindowDays?: number;
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

/**
 * A record MACed this many key periods ago is re-MACed (meter box remac) before its next command,
 * well inside the window, so a dormant meter never reaches the end of it.
 */
export const REMAC_AFTER_PERIODS = MAC_PERIOD_WINDOW - 6;

const sha256 = (data: string | Uint8Array): string =>
  createHash('sha256').update(data).digest('hex');

/** A piece id derived from the mailer and the client's idempotency key: a retry finds its piece. */
export function pieceIdFor(mailerId: string, idempotencyKey: string): string {
  const h = createHash('sha256').update(`piece\n${mailerId}\n${idempotencyKey}`).digest();
  h[6] = ((h[6] as number) & 0x0f) | 0x80; // UUID version 8 (custom)
  h[8] = ((h[8] as number) & 0x3f) | 0x80; // RFC 4122 variant
  const x = h.subarray(0, 16).toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

const today = (): string => new Date().toISOString().slice(0, 10);

function tooManyFailures(waitMs: number): ApiError {
  const seconds = Math.ceil(waitMs / 1000);
  return new ApiError(
    'RATE_LIMITED',
    `sign-on: too many failed attempts from this address; wait ${seconds} s and try again`,
    seconds,
  );
}

/** Canonical JSON (sorted keys) for what the transaction box signs. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(
      ([, v]) => v !== undefined,
    );
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * How long the data center trusts its in-memory copy of a session or a mailer row before it reads
 * the database again. Changes made through the data center itself (sign-out, settings, lockout)
 * take effect at once; the window only bounds changes made to the database from outside.
 */
const ROW_CACHE_MS = 10_000;

export class DataCenter {
  private readonly meterLocks = new KeyedMutex();
  private readonly checkedGrants = new Map<string, string>();
  private readonly sessions = new LRUCache<string, SessionRow>({ max: 100_000, ttl: ROW_CACHE_MS });
  private readonly mailers = new LRUCache<string, MailerRow>({ max: 100_000, ttl: ROW_CACHE_MS });
  /** mailer id → meter serial: fixed when the account is made. */
  private readonly serials = new LRUCache<string, string>({ max: 100_000 });
  private readonly loginLocks = new KeyedMutex();
  private vendorCaPem: string | undefined;
  private readonly ttl: number;
  private readonly refundWindowMs: number;
  private readonly throttle: SignOnThrottle;
  /** A verifier for no mailer: an unknown user name costs the same password-hash work. */
  private decoy: Promise<{ mailerId: string; verifier: string }> | undefined;

  constructor(
    readonly storage: Storage,
    readonly boxes: Boxes,
    private readonly cards: CardProcessor,
    private readonly options: DataCenterOptions,
  ) {
    this.ttl = options.sessionTtlSeconds ?? 8 * 3600;
    this.refundWindowMs = (options.refundWindowDays ?? 30) * 86_400_000;
    this.throttle = new SignOnThrottle(options.signOn);
    // Made now, so that even the first unknown user name costs no more than a wrong password.
    void this.decoyVerifier().catch(() => undefined);
  }

  private log(event: string, fields: Record<string, unknown>): void {
    this.options.log?.(event, fields);
  }

  // ---- sign-up, sign-on, sessions -------------------------------------------------------------

  async signUp(req: Api.SignUpRequest): Promise<Api.Account> {
    if (await this.storage.findMailerByUsername(req.username)) {
      throw new ApiError('USERNAME_TAKEN', `user name "${req.username}" is taken`);
    }
    const mailerId = randomUUID();
    const { verifier } = await this.boxes.auth.enroll({ mailerId, password: req.password });
    const { record, certificatePem } = await this.boxes.steel.createMeter({
      accountId: mailerId,
      demo: this.options.demo,
    });
    const mailer: MailerRow = {
      id: mailerId,
      username: req.username,
      name: req.name,
      originZip: req.originZip,
      verifier,
      createdAt: new Date().toISOString(),
      failedLogins: 0,
      lockedUntil: null,
      lowBalanceCents: 1000,
      autoRefillCents: null,
      cardToken: null,
      demo: this.options.demo,
    };
    try {
      await this.storage.createMailer(mailer);
    } catch (error) {
      if (String(error).includes('UNIQUE'))
        throw new ApiError('USERNAME_TAKEN', `user name "${req.username}" is taken`);
      throw error;
    }
    await this.storage.insertMeter(mailerId, record, certificatePem);
    this.log('signup', { mailerId, meter: record.serial });
    return this.accountOf(mailer, record);
  }

  private decoyVerifier(): Promise<{ mailerId: string; verifier: string }> {
    this.decoy ??= (async () => {
      const mailerId = `decoy-${randomUUID()}`;
      const password = randomBytes(24).toString('base64url');
      const { verifier } = await this.boxes.auth.enroll({ mailerId, password });
      return { mailerId, verifier };
    })();
    this.decoy.catch(() => (this.decoy = undefined));
    return this.decoy;
  }

  async signIn(req: Api.SignInRequest, address: string): Promise<Api.SignInResponse> {
    return this.loginLocks.run(req.username, async () => {
      const waitMs = this.throttle.waitMs(address, req.username);
      if (waitMs > 0) throw tooManyFailures(waitMs);
      // An unknown user name is checked against a decoy verifier: the same scrypt work inside the
      // authentication box, the same answer, so timing and replies do not tell which names exist.
      const mailer = await this.storage.findMailerByUsername(req.username);
      const against = mailer
        ? { mailerId: mailer.id, verifier: mailer.verifier }
        : await this.decoyVerifier();
      // The grant names the hash of the session's bearer token: a grant read from the sessions
      // table cannot be used with any other token.
      const token = randomBytes(32).toString('base64url');
      let grant;
      try {
        grant = await this.boxes.auth.authenticate({
          ...against,
          password: req.password,
          ttlSeconds: this.ttl,
          tokenHash: sha256(token),
        });
      } catch (error) {
        if (!(error instanceof BoxError) || error.code !== 'AUTH_FAILED') throw error;
        const outcome = this.throttle.fail(address, req.username);
        if (outcome.startedWaiting) {
          await this.storage.addAlert({
            meterSerial: null,
            code: 'LOGIN_THROTTLED',
            reason: `user ${req.username}: ${outcome.failures} failed sign-ons from ${address}; that source now waits`,
          });
        }
        throw new ApiError('BAD_CREDENTIALS', 'sign-on: user name or password is wrong');
      }
      if (!mailer) throw new ApiError('BAD_CREDENTIALS', 'sign-on: user name or password is wrong');
      this.throttle.succeed(address, req.username);

      // The previous login record must still carry the transaction box's signature.
      const previous = await this.storage.lastLogin(mailer.id);
      if (previous) {
        const { valid } = await this.boxes.txn.verify({
          kind: 'login',
          body: JSON.parse(previous.body) as Record<string, unknown>,
          signature: previous.signature,
        });
        if (!valid) {
          await this.storage.addAlert({
            meterSerial: null,
            code: 'LOGIN_RECORD_BAD_SIGNATURE',
            reason: `user ${mailer.username}: login record ${previous.id} was altered`,
          });
        }
      }
      const at = new Date().toISOString();
      const body = {
        mailerId: mailer.id,
        at,
        address,
        sessionId: grant.sessionId,
        previous: previous?.id ?? null,
      };
      const { signature } = await this.boxes.txn.sign({ kind: 'login', body });
      await this.storage.insertLogin({
        mailerId: mailer.id,
        at,
        address,
        body: canonicalJson(body),
        signature,
      });

      await this.storage.insertSession({
        tokenHash: sha256(token),
        mailerId: mailer.id,
        grant: JSON.stringify(grant),
        expiresAt: grant.expiresAt,
        revoked: false,
      });
      const record = await this.meterOf(mailer.id);
      this.log('signin', { mailerId: mailer.id });
      return {
        session: { token, expiresAt: grant.expiresAt, mailerId: mailer.id },
        account: this.accountOf(mailer, record),
        previousLogin: previous?.at ?? null,
      };
    });
  }

  /**
   * Resolves a bearer token to its mailer, through the authentication box's grant check. The
   * check is cached per token until the grant expires (the grant itself, not the data center's
   * word, is what the meter box checks again on every command that moves money).
   */
  async authenticate(token: string | undefined): Promise<Caller> {
    if (!token) throw new ApiError('UNAUTHENTICATED', 'sign in first: no session token was sent');
    const tokenHash = sha256(token);
    let session = this.sessions.get(tokenHash);
    if (!session) {
      session = await this.storage.getSession(tokenHash);
      if (session && !session.revoked) this.sessions.set(tokenHash, session);
    }
    if (!session || session.revoked)
      throw new ApiError('UNAUTHENTICATED', 'session: unknown or signed out; sign in again');
    // Expiry is read from the grant the authentication box signed, not from a plain column.
    const grant = JSON.parse(session.grant) as SessionGrant;
    if (Date.parse(session.expiresAt) <= Date.now() || Date.parse(grant.expiresAt) <= Date.now())
      throw new ApiError('SESSION_EXPIRED', 'session: expired; sign in again');
    // The authentication box checks a session's grant once; reads then rely on that check until
    // the grant expires (revocation is still read from the database). Money never does: the
    // grant and the token go to the meter box with every dispense and credit.
    if (grant.tokenHash !== tokenHash)
      throw new ApiError('UNAUTHENTICATED', 'session: grant does not match; sign in again');
    const auth = { grant, token };
    if (this.checkedGrants.get(tokenHash) === session.grant)
      return { mailerId: grant.mailerId, tokenHash, auth };
    try {
      const { mailerId } = await this.boxes.auth.checkGrant({ grant });
      if (mailerId !== session.mailerId)
        throw new ApiError('UNAUTHENTICATED', 'session: grant does not match');
      if (this.checkedGrants.size > 100_000) this.checkedGrants.clear();
      this.checkedGrants.set(tokenHash, session.grant);
      return { mailerId, tokenHash, auth };
    } catch (error) {
      if (error instanceof BoxError && error.code === 'AUTH_FAILED')
        throw new ApiError('SESSION_EXPIRED', 'session: no longer valid; sign in again');
      throw error;
    }
  }

  async signOut(caller: Caller): Promise<void> {
    this.checkedGrants.delete(caller.tokenHash);
    this.sessions.delete(caller.tokenHash);
    await this.storage.revokeSession(caller.tokenHash);
  }

  // ---- account -------------------------------------------------------------------------------

  /** The meter record as stored now (never cached: the meter box must see what is stored). */
  private async meterOf(mailerId: string): Promise<MeterRecord> {
    const serial = this.serials.get(mailerId);
    const record = serial
      ? await this.storage.getMeterRecord(serial)
      : await this.storage.getMeterByMailer(mailerId);
    if (!record) throw new ApiError('NOT_FOUND', 'account: this mailer has no meter');
    this.serials.set(mailerId, record.serial);
    return record;
  }

  private async serialOf(mailerId: string): Promise<string> {
    return this.serials.get(mailerId) ?? (await this.meterOf(mailerId)).serial;
  }

  private async mailerOf(mailerId: string): Promise<MailerRow> {
    const cached = this.mailers.get(mailerId);
    if (cached) return cached;
    const mailer = await this.storage.getMailer(mailerId);
    if (!mailer) throw new ApiError('UNAUTHENTICATED', 'account: unknown mailer; sign in again');
    this.mailers.set(mailerId, mailer);
    return mailer;
  }

  private accountOf(mailer: MailerRow, record: MeterRecord, suspended = false): Api.Account {
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

  async settings(caller: Caller, req: Api.SettingsRequest): Promise<Api.Account> {
    await this.storage.updateMailerSettings(caller.mailerId, req);
    this.mailers.delete(caller.mailerId);
    return this.account(caller);
  }

  // ---- the meter box, with fraud checks and crash recovery ----------------------------------

  /**
   * Runs one meter box command on the stored record. A MAC failure, a freshness mismatch that
   * the box's journal does not explain, or a record of another account than the caller's grant
   * ends the transaction with a fraud alert, and the meter box has suspended the meter. A record
   * exactly one step behind the box (a crash between box and database) is recovered from the
   * journal, and a record whose MAC period is old is re-MACed; then the caller starts over.
   *
   * Which alerts suspend the meter (in the meter box's NVM, until `reinstate`):
   * METER_RECORD_BAD_MAC, FRESHNESS_MISMATCH (not the journaled predecessor), GRANT_MISMATCH.
   * Which do not: METER_RECORD_MALFORMED (the box never saw a record it could check),
   * GRANT_INVALID (a forged session: it reached no meter), LOGIN_LOCKOUT,
   * LOGIN_RECORD_BAD_SIGNATURE, UNRECORDED_INDICIUM. An aged MAC period is no alert at all.
   */
  private async withMeterBox<T>(
    record: MeterRecord,
    command: (record: MeterRecord) => Promise<T>,
  ): Promise<T | 'recovered'> {
    try {
      const age = periodDistance(record.macPeriod, periodOf(new Date()));
      if (age !== undefined && age >= REMAC_AFTER_PERIODS) {
        await this.remac(record);
        return 'recovered';
      }
      return await command(record);
    } catch (error) {
      if (!(error instanceof BoxError)) throw error;
      const suspended = 'the meter is suspended until an administrator reinstates it';
      switch (error.code) {
        case 'METER_RECORD_BAD_MAC':
          await this.alert(
            record.serial,
            error.code,
            `meter record failed its MAC check: altered or swapped (${error.message}); ${suspended}`,
          );
          throw new ApiError(
            'METER_INTEGRITY',
            `meter ${record.serial}: the stored meter record failed its security check; nothing was charged`,
          );
        case 'GRANT_MISMATCH':
          await this.alert(
            record.serial,
            error.code,
            `a mailer's request reached a meter its grant does not own (${error.message}); ${suspended}`,
          );
          throw new ApiError(
            'METER_INTEGRITY',
            `meter ${record.serial}: the meter record is not this account's; nothing was charged`,
          );
        case 'GRANT_INVALID':
          await this.alert(
            record.serial,
            error.code,
            `a session grant the authentication box did not issue for this token: ${error.message}`,
          );
          throw new ApiError('UNAUTHENTICATED', 'session: not valid; sign in again');
        case 'GRANT_EXPIRED':
          throw new ApiError('SESSION_EXPIRED', 'session: expired; sign in again');
        case 'RECORD_MAC_EXPIRED':
          await this.remac(record);
          return 'recovered';
        case 'FRESHNESS_MISMATCH': {
          const journal = await this.boxes.meter.recover({ serial: record.serial });
          if (journal && journal.record.counter === record.counter + 1) {
            await this.storeRecovered(record, journal);
            return 'recovered';
          }
          await this.alert(
            record.serial,
            error.code,
            `meter record is not the one the meter box issued last (stale, replayed or rolled back): ${error.message}; ${suspended}`,
          );
          throw new ApiError(
            'METER_INTEGRITY',
            `meter ${record.serial}: the stored meter record is out of date; nothing was charged`,
          );
        }
        case 'INSUFFICIENT_FUNDS':
          throw new ApiError(
            'INSUFFICIENT_FUNDS',
            `postage: more than the balance of ${record.descendingCents} cents`,
          );
        case 'METER_SUSPENDED':
          throw new ApiError(
            'METER_SUSPENDED',
            `meter ${record.serial}: suspended after a security alert; support must reinstate it`,
          );
        case 'BAD_REQUEST':
          // The box refused the stored record's shape (a column edited to a value no record can
          // hold): tampering or corruption, never a caller's mistake.
          if (/^record[.:]/.test(error.message)) {
            await this.alert(
              record.serial,
              'METER_RECORD_MALFORMED',
              `meter record is malformed: altered in the database (${error.message})`,
            );
            throw new ApiError(
              'METER_INTEGRITY',
              `meter ${record.serial}: the stored meter record failed its security check; nothing was charged`,
            );
          }
          throw error;
        case 'BOX_UNAVAILABLE':
        case 'TAMPERED':
        case 'SELF_TEST_FAILED':
          throw new ApiError('SERVICE_UNAVAILABLE', `meter box: ${error.code}`);
        case 'WITNESS_UNAVAILABLE':
        case 'WITNESS_MISMATCH':
          // A box just (re)started waits for its start receipt: one round with the post, then
          // the caller runs the command again.
          if (await this.options.witness?.settle(5000)) return 'recovered';
          throw new ApiError(
            'SERVICE_UNAVAILABLE',
            `postage: waiting for the postal authority's receipt for earlier postage; nothing was charged; try again in a minute (${error.message})`,
          );
        case 'WITNESS_ROLLBACK':
          throw new ApiError(
            'METER_INTEGRITY',
            `postage: refused: the data center runs from a restored copy, older than what the postal authority holds; nothing was charged (${error.message})`,
          );
        default:
          throw error;
      }
    }
  }

  /**
   * Stores the meter box's journaled last command of a meter if the database never got it (the
   * data center stopped between the box's answer and the COMMIT) — with its postal report, which
   * the postal authority waits for. True if something was stored.
   */
  async settleMeter(serial: string): Promise<boolean> {
    return this.meterLocks.run(serial, async () => {
      const stored = await this.storage.getMeterRecord(serial);
      if (!stored) return false;
      const journal = await this.boxes.meter.recover({ serial });
      if (!journal || journal.record.counter !== stored.counter + 1) return false;
      await this.storeRecovered(stored, journal);
      return true;
    });
  }

  /** A fresh MAC for a record whose key period is ageing (dormant meter); stores the answer. */
  private async remac(record: MeterRecord): Promise<void> {
    const { record: next } = await this.boxes.meter.remac({ record });
    await this.storage.commitRecovered({ record: next, expectedCounter: record.counter });
    this.log('remac', { meter: record.serial, from: record.macPeriod, to: next.macPeriod });
  }

  /**
   * Lifts the meter box's suspension of a meter (administrator, `vpm datacenter reinstate`) and
   * records who-knows-why in the alerts table. Answers the suspension lifted, or null if none.
   */
  async reinstate(serial: string, reason: string): Promise<MeterSuspension | null> {
    let lifted: MeterSuspension | null;
    try {
      ({ lifted } = await this.boxes.meter.reinstate({ serial, reason }));
    } catch (error) {
      if (error instanceof BoxError && error.code === 'UNKNOWN_METER')
        throw new ApiError('NOT_FOUND', `meter ${serial}: the meter box does not know it`);
      throw error;
    }
    if (lifted)
      await this.alert(
        serial,
        'REINSTATED',
        `reinstated by an administrator: ${reason} (suspended ${lifted.at} for ${lifted.code})`,
      );
    return lifted;
  }

  private async alert(serial: string | null, code: string, reason: string): Promise<void> {
    await this.storage.addAlert({ meterSerial: serial, code, reason });
    this.log('fraud-alert', { meter: serial, code, reason });
  }

  private piecesFrom(
    record: MeterRecord,
    mailerId: string,
    originZip: string,
    indicia: IssuedIndicium[],
    keys: Map<string, string>,
    asked?: Map<
      string,
      Pick<PieceRow, 'mailClass' | 'originZip' | 'destinationZip' | 'mailingDate'>
    >,
  ): PieceRow[] {
    const createdAt = new Date().toISOString();
    return indicia.map((issued) => {
      const bytes = new Uint8Array(Buffer.from(issued.indicium, 'base64'));
      // What this data center asked the box to sign; from a journal, what the indicium says.
      const fields = asked?.get(issued.pieceId) ?? decodeIndicium(bytes).fields;
      return {
        pieceId: issued.pieceId,
        meterSerial: record.serial,
        mailerId,
        idempotencyKey: keys.get(issued.pieceId) ?? null,
        indicium: bytes,
        signature: bytes.slice(PAYLOAD_LENGTH, INDICIUM_LENGTH),
        postageCents: issued.postageCents,
        ascendingCents: issued.ascendingCents,
        descendingCents: issued.descendingCents,
        mailClass: fields.mailClass,
        originZip: fields.originZip || originZip,
        destinationZip: fields.destinationZip,
        mailingDate: fields.mailingDate,
        createdAt,
        status: 'issued' as const,
      };
    });
  }

  private async storeRecovered(stored: MeterRecord, journal: JournalEntry): Promise<void> {
    const mailerId = stored.accountId;
    const mailer = await this.storage.getMailer(mailerId);
    if (journal.kind === 'remac') {
      await this.storage.commitRecovered({
        record: journal.record,
        expectedCounter: stored.counter,
      });
    } else if (journal.kind === 'dispense') {
      const pieces = this.piecesFrom(
        journal.record,
        mailerId,
        mailer?.originZip ?? '00000',
        journal.indicia,
        new Map(),
      );
      await this.storage.commitRecovered({
        record: journal.record,
        expectedCounter: stored.counter,
        pieces,
        ...(journal.report ? { report: outboxReport(journal.report) } : {}),
      });
      if (journal.report) this.options.witness?.kick();
    } else {
      const createdAt = new Date().toISOString();
      const reference = journal.reference ?? 'unknown';
      const amountCents = journal.amountCents ?? 0;
      const body = { reference, amountCents, meter: stored.serial, recovered: true, at: createdAt };
      const { signature } = await this.boxes.txn.sign({
        kind: reference.startsWith('refund:') ? 'refund' : 'refill',
        body,
      });
      const isRefund = reference.startsWith('refund:');
      const pieceId = reference.slice('refund:'.length);
      await this.storage.commitRecovered({
        record: journal.record,
        expectedCounter: stored.counter,
        ...(isRefund
          ? { refund: { pieceId, amountCents, createdAt, receipt: canonicalJson(body), signature } }
          : {
              refill: {
                id: reference.replace(/^refill:/, ''),
                mailerId,
                amountCents,
                cardLast4: '----',
                createdAt,
                receipt: canonicalJson(body),
                signature,
              },
            }),
      });
    }
    this.log('recovered', {
      meter: stored.serial,
      counter: journal.record.counter,
      kind: journal.kind,
    });
  }

  // ---- dispense --------------------------------------------------------------------------------

  async dispense(caller: Caller, req: Api.DispenseRequest): Promise<Api.DispenseResponse> {
    const mailer = await this.mailerOf(caller.mailerId);
    const mailingDate = req.mailingDate ?? today();
    const days = (Date.parse(mailingDate) - Date.parse(today())) / 86_400_000;
    if (!isCalendarDate(mailingDate) || !Number.isFinite(days) || days < 0 || days > 30) {
      throw new ApiError(
        'BAD_REQUEST',
        `mailing date ${mailingDate}: must be today or within the next 30 days`,
      );
    }
    const keys = new Set<string>();
    for (const piece of req.pieces) {
      if (keys.has(piece.idempotencyKey))
        throw new ApiError(
          'BAD_REQUEST',
          `pieces: idempotency key ${piece.idempotencyKey} appears twice`,
        );
      keys.add(piece.idempotencyKey);
    }
    return this.meterLocks.run(await this.serialOf(caller.mailerId), async () => {
      for (let attempt = 0; ; attempt++) {
        const record = await this.meterOf(caller.mailerId);
        const ids = req.pieces.map((p) => pieceIdFor(caller.mailerId, p.idempotencyKey));
        const existing = await Promise.all(ids.map((id) => this.storage.getPiece(id)));
        existing.forEach((row, i) => {
          const asked = req.pieces[i] as Api.PieceSpec;
          const destination = asked.destinationZip.replace('-', '');
          if (
            row &&
            (row.postageCents !== asked.postageCents ||
              row.mailClass !== asked.mailClass ||
              row.destinationZip !== destination ||
              (req.mailingDate !== undefined && row.mailingDate !== req.mailingDate))
          ) {
            throw new ApiError(
              'IDEMPOTENCY_CONFLICT',
              `piece ${i + 1}: key ${asked.idempotencyKey} was used for a different piece`,
            );
          }
        });
        const todo = req.pieces
          .map((p, i) => ({ p, id: ids[i] as string }))
          .filter((_, i) => !existing[i]);
        let fresh: PieceRow[] = [];
        let latest = record; // the record after this request: its balance is the answer's
        if (todo.length > 0) {
          // Status and funds are the meter box's to judge: the stored record is trusted only
          // after the box verified its MAC and freshness (a tampered status or register must
          // raise a fraud alert, not a plain refusal).
          const result = await this.withMeterBox(record, (rec) =>
            this.boxes.meter.dispense({
              requestId: randomUUID(),
              auth: caller.auth,
              record: rec,
              pieces: todo.map((t) => ({
                pieceId: t.id,
                postageCents: t.p.postageCents,
                mailClass: t.p.mailClass,
                originZip: mailer.originZip,
                destinationZip: t.p.destinationZip.replace('-', ''),
                mailingDate,
              })),
            }),
          );
          if (result === 'recovered') {
            if (attempt >= 2)
              throw new ApiError(
                'SERVICE_UNAVAILABLE',
                'meter: recovery did not settle; try again',
              );
            continue;
          }
          const keyOf = new Map(todo.map((t) => [t.id, t.p.idempotencyKey]));
          const asked = new Map(
            todo.map((t) => [
              t.id,
              {
                mailClass: t.p.mailClass,
                originZip: mailer.originZip,
                destinationZip: t.p.destinationZip.replace('-', ''),
                mailingDate,
              },
            ]),
          );
          fresh = this.piecesFrom(
            result.record,
            caller.mailerId,
            mailer.originZip,
            result.indicia,
            keyOf,
            asked,
          );
          try {
            await this.storage.commitDispense({
              record: result.record,
              expectedCounter: record.counter,
              pieces: fresh,
              ...(result.report ? { report: outboxReport(result.report) } : {}),
            });
            if (result.report) this.options.witness?.kick();
          } catch (error) {
            if (error instanceof StorageConflictError)
              throw new ApiError(
                'SERVICE_UNAVAILABLE',
                'meter: the record changed meanwhile; try again',
              );
            throw error;
          }
          latest = (await this.maybeAutoRefill(caller, mailer, result.record)) ?? result.record;
        }
        const freshById = new Map(fresh.map((row) => [row.pieceId, row]));
        const pieces = ids.map((id, i) => {
          const row = existing[i] ?? freshById.get(id);
          if (!row) throw new ApiError('INTERNAL', 'dispense: a piece went missing');
          return this.issued(
            row,
            existing[i] !== undefined,
            (req.pieces[i] as Api.PieceSpec).idempotencyKey,
          );
        });
        return { pieces, balanceCents: latest.descendingCents };
      }
    });
  }

  private issued(
    row: PieceRow,
    replayed: boolean,
    key: string | null = row.idempotencyKey,
  ): Api.IssuedPiece {
    return {
      pieceId: row.pieceId,
      idempotencyKey: key,
      indicium: Buffer.from(row.indicium).toString('base64'),
      postageCents: row.postageCents,
      ascendingCents: row.ascendingCents,
      descendingCents: row.descendingCents,
      mailClass: row.mailClass as Api.IssuedPiece['mailClass'],
      destinationZip: row.destinationZip,
      mailingDate: row.mailingDate,
      createdAt: row.createdAt,
      status: row.status,
      replayed,
    };
  }

  // ---- refill and refund --------------------------------------------------------------------

  private async credit(
    caller: Caller,
    amountCents: number,
    reference: string,
    kind: 'refill' | 'refund',
    extra: {
      cardLast4?: string;
      cardFingerprint?: string;
      pieceId?: string;
      /** Called when the meter box refused, so nothing was credited. */
      refused?: () => Promise<void>;
    },
  ): Promise<MeterRecord> {
    for (let attempt = 0; ; attempt++) {
      const record = await this.meterOf(caller.mailerId);
      let result: Awaited<ReturnType<Boxes['meter']['credit']>> | 'recovered';
      try {
        result = await this.withMeterBox(record, (rec) =>
          this.boxes.meter.credit({
            requestId: randomUUID(),
            auth: caller.auth,
            record: rec,
            amountCents,
            reference,
          }),
        );
      } catch (error) {
        await extra.refused?.();
        throw error;
      }
      if (result === 'recovered') {
        // The journal may have held this very credit (a crash after the box, before the COMMIT).
        const done =
          kind === 'refund'
            ? (await this.storage.getPiece(extra.pieceId as string))?.status === 'refunded'
            : (await this.storage.getRefill(reference.replace(/^refill:/, ''))) !== undefined;
        if (done) return this.meterOf(caller.mailerId);
        if (attempt >= 2)
          throw new ApiError('SERVICE_UNAVAILABLE', 'meter: recovery did not settle; try again');
        continue;
      }
      const createdAt = new Date().toISOString();
      const body = {
        kind,
        reference,
        amountCents,
        meter: record.serial,
        mailerId: caller.mailerId,
        at: createdAt,
      };
      const { signature } = await this.boxes.txn.sign({ kind, body });
      const receipt = canonicalJson(body);
      await this.storage.commitCredit({
        record: result.record,
        expectedCounter: record.counter,
        ...(kind === 'refill'
          ? {
              refill: {
                id: reference.replace(/^refill:/, ''),
                mailerId: caller.mailerId,
                amountCents,
                cardLast4: extra.cardLast4 ?? '----',
                cardFingerprint: extra.cardFingerprint ?? null,
                createdAt,
                receipt,
                signature,
              },
            }
          : {
              refund: {
                pieceId: extra.pieceId as string,
                amountCents,
                createdAt,
                receipt,
                signature,
              },
            }),
      });
      return result.record;
    }
  }

  /** Refuses a credit that would take the balance past the product's one ceiling. */
  private checkCeiling(record: MeterRecord, amountCents: number, what: string): void {
    const after = record.descendingCents + amountCents;
    if (after > MAX_CENTS)
      throw new ApiError(
        'BALANCE_LIMIT',
        `${what}: ${formatDollars(amountCents)} would take the balance to ${formatDollars(after)}, past the limit of ${formatDollars(MAX_CENTS)}; nothing was charged`,
      );
  }

  async refill(caller: Caller, req: Api.RefillRequest): Promise<Api.Account> {
    const refillId = pieceIdFor(caller.mailerId, `refill:${req.idempotencyKey}`);
    return this.meterLocks.run(await this.serialOf(caller.mailerId), async () => {
      const fingerprint = await this.cards.fingerprint(req.cardNumber);
      const done = await this.storage.getRefill(refillId);
      if (done) {
        if (
          done.amountCents !== req.amountCents ||
          (done.cardFingerprint !== null && done.cardFingerprint !== fingerprint)
        )
          throw new ApiError(
            'IDEMPOTENCY_CONFLICT',
            `refill: key ${req.idempotencyKey} was used for a refill of another amount or card; nothing was charged`,
          );
        return this.account(caller);
      }
      this.checkCeiling(await this.meterOf(caller.mailerId), req.amountCents, 'refill');
      const charge = await this.cards.charge(req.cardNumber, req.amountCents, refillId);
      if (!charge)
        throw new ApiError('CARD_DECLINED', 'refill: the card was declined; nothing was charged');
      await this.credit(caller, req.amountCents, `refill:${refillId}`, 'refill', {
        cardLast4: charge.last4,
        cardFingerprint: fingerprint,
      });
      // The card token is all a refill owns: the mailer's settings may have changed meanwhile.
      await this.storage.setCardToken(caller.mailerId, charge.cardToken);
      this.mailers.delete(caller.mailerId);
      this.log('refill', { mailerId: caller.mailerId, amountCents: req.amountCents });
      return this.account(caller);
    });
  }

  /**
   * Refills by the mailer's auto-refill amount when the balance fell below the threshold. It runs
   * inside the mailer's own dispense request and carries that request's grant: like every credit,
   * the meter box takes it only for the grant's own meter. There is no credit without a grant.
   */
  private async maybeAutoRefill(
    caller: Caller,
    mailer: MailerRow,
    record: MeterRecord,
  ): Promise<MeterRecord | undefined> {
    if (
      !mailer.autoRefillCents ||
      !mailer.cardToken ||
      record.descendingCents >= mailer.lowBalanceCents ||
      record.descendingCents + mailer.autoRefillCents > MAX_CENTS
    )
      return;
    const refillId = pieceIdFor(mailer.id, `auto:${record.serial}:${record.counter}`);
    const charge = await this.cards.chargeToken(mailer.cardToken, mailer.autoRefillCents, refillId);
    if (!charge) {
      this.log('auto-refill-declined', { mailerId: mailer.id });
      return undefined;
    }
    return this.credit(caller, mailer.autoRefillCents, `refill:${refillId}`, 'refill', {
      cardLast4: charge.last4,
    });
  }

  async refund(caller: Caller, req: Api.RefundRequest): Promise<Api.RefundResponse> {
    const record = await this.meterOf(caller.mailerId);
    return this.meterLocks.run(record.serial, async () => {
      const piece = await this.storage.getPiece(req.pieceId);
      if (!piece || piece.mailerId !== caller.mailerId)
        throw new ApiError('PIECE_NOT_FOUND', `piece ${req.pieceId}: not found in your history`);
      if (piece.status !== 'issued')
        throw new ApiError('REFUND_NOT_ALLOWED', `piece ${req.pieceId}: already refunded`);
      if (Date.now() - Date.parse(piece.createdAt) > this.refundWindowMs) {
        throw new ApiError(
          'REFUND_NOT_ALLOWED',
          `piece ${req.pieceId}: older than 30 days; refunds are for unused pieces within 30 days`,
        );
      }
      this.checkCeiling(await this.meterOf(caller.mailerId), piece.postageCents, 'refund');
      // The piece is claimed for the refund first, in one transaction that an acceptance scan
      // cannot interleave with: a piece is scanned or refunded, never both.
      if (
        (await this.storage.claimForRefund(piece.pieceId, new Date().toISOString())) === 'scanned'
      )
        throw new ApiError(
          'REFUND_NOT_ALLOWED',
          `piece ${req.pieceId}: the post office has already scanned it`,
        );
      const after = await this.credit(
        caller,
        piece.postageCents,
        `refund:${piece.pieceId}`,
        'refund',
        {
          pieceId: piece.pieceId,
          refused: () => this.storage.releaseRefundClaim(piece.pieceId),
        },
      );
      this.log('refund', { mailerId: caller.mailerId, pieceId: piece.pieceId });
      return {
        pieceId: piece.pieceId,
        refundedCents: piece.postageCents,
        balanceCents: after.descendingCents,
      };
    });
  }

  // ---- history, certificates, verification, alerts -----------------------------------------

  async history(caller: Caller, query: Api.HistoryQuery): Promise<Api.HistoryResponse> {
    const page = query.page ?? 1;
    const pageSize = query.pageSize ?? 50;
    const { items, total } = await this.storage.history(caller.mailerId, page, pageSize, query.q);
    return { items: items.map((row) => this.historyItem(row)), total, page, pageSize };
  }

  historyItem(row: PieceRow): Api.HistoryItem {
    return {
      pieceId: row.pieceId,
      createdAt: row.createdAt,
      mailingDate: row.mailingDate,
      postageCents: row.postageCents,
      mailClass: row.mailClass as Api.HistoryItem['mailClass'],
      destinationZip: row.destinationZip,
      ascendingCents: row.ascendingCents,
      status: row.status,
      refundable:
        row.status === 'issued' && Date.now() - Date.parse(row.createdAt) <= this.refundWindowMs,
      indicium: Buffer.from(row.indicium).toString('base64'),
    };
  }

  async *historyCsv(caller: Caller): AsyncIterable<string> {
    yield 'piece_id,created_at,mailing_date,mail_class,destination_zip,postage,ascending_register,status\n';
    for await (const row of this.storage.allPieces(caller.mailerId)) {
      yield `${row.pieceId},${row.createdAt},${row.mailingDate},${row.mailClass},${row.destinationZip},${formatDecimal(row.postageCents)},${formatDecimal(row.ascendingCents)},${row.status}\n`;
    }
  }

  async vendorCa(): Promise<string> {
    this.vendorCaPem ??= (await this.boxes.steel.vendorCa()).certificatePem;
    return this.vendorCaPem;
  }

  async certificate(serial: string): Promise<string> {
    const pem = await this.storage.certificate(serial.toLowerCase());
    if (!pem)
      throw new ApiError('NOT_FOUND', `certificate ${serial}: not issued by this data center`);
    return pem;
  }

  async certificateBundle(query: Api.CertificatesQuery = {}): Promise<Api.CertificateBundle> {
    const limit = query.limit ?? 100;
    const page = await this.storage.certificatesPage(query.after, limit + 1);
    const serials = Object.keys(page);
    const more = serials.length > limit;
    const certificates = more
      ? Object.fromEntries(serials.slice(0, limit).map((serial) => [serial, page[serial]]))
      : page;
    return {
      vendorCaPem: await this.vendorCa(),
      certificates: certificates as Record<string, string>,
      next: more ? (serials[limit - 1] as string) : null,
    };
  }

  /**
   * The verdict on an indicium from its signature and the transaction records, keyed on the
   * piece: the payload signed (its piece id), never the signature bytes.
   */
  private async judge(
    bytes: Uint8Array,
  ): Promise<{ verdict: Verdict; reason: string; piece?: PieceRow }> {
    const result = await verifyIndicium(bytes, {
      vendorCaPem: await this.vendorCa(),
      find: (serial) => this.storage.certificate(serial),
    });
    if (result.verdict !== 'valid' && result.verdict !== 'demo-sample') return result;
    const presented = (result.indicium as NonNullable<typeof result.indicium>).payload;
    const piece = await this.storage.getPiece(result.indicium?.fields.pieceId ?? '');
    const recorded = piece && Buffer.from(piece.indicium.subarray(0, PAYLOAD_LENGTH));
    if (!piece || !recorded?.equals(Buffer.from(presented))) {
      await this.alert(
        result.indicium?.fields.deviceId ?? null,
        'UNRECORDED_INDICIUM',
        `an indicium with a valid signature is not in the transaction records`,
      );
      return {
        verdict: 'bad-signature',
        reason: 'signed by a meter key but not recorded by the data center',
      };
    }
    return { verdict: result.verdict, reason: result.reason, piece };
  }

  /** What a claim on the piece makes of a valid verdict. */
  private used(
    verdict: Verdict,
    reason: string,
    piece: PieceRow,
    claim: ClaimRow | undefined,
  ): Api.VerifyResponse {
    if (piece.status === 'refunded' || claim?.kind === 'refund')
      return {
        verdict: 'duplicate',
        reason: `piece ${piece.pieceId} was refunded; it is not valid postage`,
        seenBefore: 0,
      };
    if (claim?.kind === 'scan')
      return {
        verdict: verdict === 'valid' ? 'duplicate' : verdict,
        reason:
          verdict === 'valid'
            ? `piece ${piece.pieceId} was accepted by the post office ${claim.seen} time(s) since ${claim.firstAt}: a copy of postage already used`
            : reason,
        seenBefore: claim.seen,
      };
    return { verdict, reason, seenBefore: 0 };
  }

  /** Anyone's check of an indicium: a verdict only; it changes nothing. */
  async verify(req: Api.VerifyRequest): Promise<Api.VerifyResponse> {
    const { verdict, reason, piece } = await this.judge(
      new Uint8Array(Buffer.from(req.indicium, 'base64')),
    );
    if (!piece) return { verdict, reason, seenBefore: 0 };
    return this.used(verdict, reason, piece, await this.storage.claimOf(piece.pieceId));
  }

  /** The post office's acceptance scan: the verdict, and an unused piece becomes used. */
  async scan(scanner: string, req: Api.ScanRequest): Promise<Api.ScanResponse> {
    const { verdict, reason, piece } = await this.judge(
      new Uint8Array(Buffer.from(req.indicium, 'base64')),
    );
    if (!piece) return { verdict, reason, seenBefore: 0 };
    if (piece.status !== 'issued') return this.used(verdict, reason, piece, undefined);
    let before: ClaimRow | undefined;
    try {
      before = await this.storage.noteScan(piece.pieceId, scanner, new Date().toISOString());
    } catch (error) {
      if (!(error instanceof StorageConflictError)) throw error;
      return this.used(verdict, reason, { ...piece, status: 'refunded' }, undefined);
    }
    this.log('scan', { scanner, pieceId: piece.pieceId, seenBefore: before?.seen ?? 0 });
    return this.used(verdict, reason, piece, before);
  }

  /** The scanner a credential belongs to (`vpm datacenter scanner-token`). */
  async authenticateScanner(token: string | undefined): Promise<string> {
    if (!token) throw new ApiError('UNAUTHENTICATED', 'scans: a scanner credential is required');
    const name = await this.storage.scannerByTokenHash(sha256(token));
    if (!name) throw new ApiError('FORBIDDEN', "scans: this credential is not a scanner's");
    return name;
  }

  async alerts(): Promise<Api.FraudAlert[]> {
    return this.storage.listAlerts();
  }
}
