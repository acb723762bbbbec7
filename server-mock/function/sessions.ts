/**
 * @module function/sessions
 * Sign-up, sign-on and sessions (patent Fig. 3, the authentication box 40 and the transaction
 * box's signed login records): a mailer's password is checked only inside the authentication
 * box, which issues the session grant that the meter box checks again on every command that
 * moves money. Also the account's settings.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type * as Api from '../../shared/api/schemas';
import { BoxError, type SessionGrant } from '../boxes/api';
import type { MailerRow, SessionRow } from '../storage/storage';
import { ApiError } from './api-error';
import {
  canonicalJson,
  ROW_CACHE_MS,
  RowCache,
  sha256,
  type Caller,
  type FlowContext,
} from './flow-context';
import { KeyedMutex } from './keyed-mutex';
import { SignOnThrottle } from './sign-on-throttle';

function tooManyFailures(waitMs: number): ApiError {
  const seconds = Math.ceil(waitMs / 1000);
  return new ApiError(
    'RATE_LIMITED',
    `sign-on: too many failed attempts from this address; wait ${seconds} s and try again`,
    seconds,
  );
}

/** A session row as read, with its grant parsed and both expiry times read once. */
interface KnownSession {
  row: SessionRow;
  grant: SessionGrant;
  rowExpiresMs: number;
  grantExpiresMs: number;
}

export class Sessions {
  private readonly checkedGrants = new Map<string, string>();
  private readonly sessions = new RowCache<KnownSession>(ROW_CACHE_MS);
  private readonly loginLocks = new KeyedMutex();
  private readonly ttl: number;
  private readonly throttle: SignOnThrottle;
  /** A verifier for no mailer: an unknown user name costs the same password-hash work. */
  private decoy: Promise<{ mailerId: string; verifier: string }> | undefined;

  constructor(private readonly ctx: FlowContext) {
    this.ttl = ctx.options.sessionTtlSeconds ?? 8 * 3600;
    this.throttle = new SignOnThrottle(ctx.storage, ctx.options.signOn);
    // Made now, so that even the first unknown user name costs no more than a wrong password.
    void this.decoyVerifier().catch(() => undefined);
  }

  async signUp(req: Api.SignUpRequest): Promise<Api.Account> {
    if (await this.ctx.storage.findMailerByUsername(req.username)) {
      throw new ApiError('USERNAME_TAKEN', `user name "${req.username}" is taken`);
    }
    const mailerId = randomUUID();
    const { verifier } = await this.ctx.boxes.auth.enroll({ mailerId, password: req.password });
    const { record, certificatePem } = await this.ctx.boxes.steel.createMeter({
      accountId: mailerId,
      demo: this.ctx.options.demo,
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
      demo: this.ctx.options.demo,
    };
    try {
      await this.ctx.storage.createMailer(mailer);
    } catch (error) {
      if (String(error).includes('UNIQUE'))
        throw new ApiError('USERNAME_TAKEN', `user name "${req.username}" is taken`);
      throw error;
    }
    await this.ctx.storage.insertMeter(mailerId, record, certificatePem);
    this.ctx.log('signup', { mailerId, meter: record.serial });
    return this.ctx.accountOf(mailer, record);
  }

  private decoyVerifier(): Promise<{ mailerId: string; verifier: string }> {
    this.decoy ??= (async () => {
      const mailerId = `decoy-${randomUUID()}`;
      const password = randomBytes(24).toString('base64url');
      const { verifier } = await this.ctx.boxes.auth.enroll({ mailerId, password });
      return { mailerId, verifier };
    })();
    this.decoy.catch(() => (this.decoy = undefined));
    return this.decoy;
  }

  async signIn(req: Api.SignInRequest, address: string): Promise<Api.SignInResponse> {
    return this.loginLocks.run(req.username, async () => {
      const gate = await this.throttle.check(address, req.username);
      if (gate.waitMs > 0) throw tooManyFailures(gate.waitMs);
      // An unknown user name is checked against a decoy verifier: the same scrypt work inside the
      // authentication box, the same answer, so timing and replies do not tell which names exist.
      const mailer = await this.ctx.storage.findMailerByUsername(req.username);
      const against = mailer
        ? { mailerId: mailer.id, verifier: mailer.verifier }
        : await this.decoyVerifier();
      // The grant names the hash of the session's bearer token: a grant read from the sessions
      // table cannot be used with any other token.
      const token = randomBytes(32).toString('base64url');
      let grant;
      try {
        grant = await this.ctx.boxes.auth.authenticate({
          ...against,
          password: req.password,
          ttlSeconds: this.ttl,
          tokenHash: sha256(token),
        });
      } catch (error) {
        if (!(error instanceof BoxError) || error.code !== 'AUTH_FAILED') throw error;
        const outcome = await this.throttle.fail(address, req.username);
        if (outcome.startedWaiting) {
          await this.ctx.storage.addAlert({
            meterSerial: null,
            code: 'LOGIN_THROTTLED',
            reason: `user ${req.username}: ${outcome.failures} failed sign-ons from ${address}; that source now waits`,
          });
        }
        throw new ApiError('BAD_CREDENTIALS', 'sign-on: user name or password is wrong');
      }
      if (!mailer) throw new ApiError('BAD_CREDENTIALS', 'sign-on: user name or password is wrong');
      await this.throttle.succeed(address, req.username, gate);

      // The previous login record must still carry the transaction box's signature.
      const previous = await this.ctx.storage.lastLogin(mailer.id);
      if (previous) {
        const { valid } = await this.ctx.boxes.txn.verify({
          kind: 'login',
          body: JSON.parse(previous.body) as Record<string, unknown>,
          signature: previous.signature,
        });
        if (!valid) {
          await this.ctx.storage.addAlert({
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
      const { signature } = await this.ctx.boxes.txn.sign({ kind: 'login', body });
      await this.ctx.storage.insertLogin({
        mailerId: mailer.id,
        at,
        address,
        body: canonicalJson(body),
        signature,
      });

      await this.ctx.storage.insertSession({
        tokenHash: sha256(token),
        mailerId: mailer.id,
        grant: JSON.stringify(grant),
        expiresAt: grant.expiresAt,
        revoked: false,
      });
      const record = await this.ctx.meterOf(mailer.id);
      this.ctx.log('signin', { mailerId: mailer.id });
      return {
        session: { token, expiresAt: grant.expiresAt, mailerId: mailer.id },
        account: this.ctx.accountOf(mailer, record),
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
    const now = Date.now();
    let known = this.sessions.get(tokenHash, now);
    if (!known) {
      const row = await this.ctx.storage.getSession(tokenHash);
      if (!row || row.revoked)
        throw new ApiError('UNAUTHENTICATED', 'session: unknown or signed out; sign in again');
      // Expiry is read from the grant the authentication box signed, not from a plain column.
      const grant = JSON.parse(row.grant) as SessionGrant;
      known = {
        row,
        grant,
        rowExpiresMs: Date.parse(row.expiresAt),
        grantExpiresMs: Date.parse(grant.expiresAt),
      };
      this.sessions.set(tokenHash, known, now);
    }
    const { row: session, grant } = known;
    if (known.rowExpiresMs <= now || known.grantExpiresMs <= now)
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
      const { mailerId } = await this.ctx.boxes.auth.checkGrant({ grant });
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
    await this.ctx.storage.revokeSession(caller.tokenHash);
  }

  async settings(caller: Caller, req: Api.SettingsRequest): Promise<Api.Account> {
    await this.ctx.storage.updateMailerSettings(caller.mailerId, req);
    this.ctx.forgetMailer(caller.mailerId);
    return this.ctx.account(caller);
  }
}
