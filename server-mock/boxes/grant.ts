/**
 * @module boxes/grant
 * The session grant (patent part 40: the authentication box vouches for the mailer): mailer id,
 * session id, expiry and the SHA-256 of the session's bearer token, signed with ECDSA P-256 by
 * the authentication box's grant key. The meter box holds only the public key (seeded by the key
 * ceremony), so it can check a grant but never make one. A grant travels with every command that
 * moves money together with the bearer token it was issued for: a grant copied from the sessions
 * table is useless without the token, which the data center stores only as a hash.
 */
import type { KeyObject } from 'node:crypto';
import type { MailerAuth, SessionGrant } from './api';
import { canonicalJson, ecdsaSign, ecdsaVerify, sha256 } from './crypto-kit';
import * as v from './validate';

const GRANT_CONTEXT = 'vpm-grant-v2';
const SIGNATURE_BASE64_CHARS = 88; // 64 bytes r || s
const MAX_TOKEN_CHARS = 256;

/** What the authentication box signs of a grant: every field but the signature. */
function signedPart(g: Omit<SessionGrant, 'signature'>): Omit<SessionGrant, 'signature'> {
  return {
    mailerId: g.mailerId,
    sessionId: g.sessionId,
    expiresAt: g.expiresAt,
    tokenHash: g.tokenHash,
  };
}

/** The bytes the authentication box signs. */
export function grantBytes(g: Omit<SessionGrant, 'signature'>): Buffer {
  return Buffer.from(`${GRANT_CONTEXT}\n${canonicalJson(signedPart(g))}`, 'utf8');
}

/** SHA-256 of a bearer token, hex: what a grant names. */
export const tokenHashOf = (token: string): string => sha256(token).toString('hex');

export function signGrant(key: KeyObject, g: Omit<SessionGrant, 'signature'>): SessionGrant {
  return { ...g, signature: ecdsaSign(key, grantBytes(g)).toString('base64') };
}

/** Shape check of a grant (the "check" half; signature and expiry are the work half's). */
export function grantShape(value: unknown, what = 'grant'): SessionGrant {
  const g = v.object(value, what);
  v.exactKeys(g, what, ['mailerId', 'sessionId', 'expiresAt', 'tokenHash', 'signature']);
  return {
    mailerId: v.text(g.mailerId, `${what}.mailerId`, 128),
    sessionId: v.text(g.sessionId, `${what}.sessionId`, 64),
    expiresAt: v.text(g.expiresAt, `${what}.expiresAt`, 32),
    tokenHash: v.text(g.tokenHash, `${what}.tokenHash`, 64, /^[0-9a-f]{64}$/),
    signature: v.text(g.signature, `${what}.signature`, SIGNATURE_BASE64_CHARS),
  };
}

/** Shape check of what a money-moving meter command carries: the grant and its bearer token. */
export function mailerAuthShape(value: unknown): MailerAuth {
  const a = v.object(value, 'auth');
  v.exactKeys(a, 'auth', ['grant', 'token']);
  return {
    grant: grantShape(a.grant, 'auth.grant'),
    token: v.text(a.token, 'auth.token', MAX_TOKEN_CHARS),
  };
}

/**
 * Grants whose signature a box has verified, by their signature: the same grant comes with every
 * command of its session, and checking its ECDSA signature took twice the time of signing the
 * indicium. Only a grant whose signature verified is remembered, with the fields it was verified
 * on; a grant counts as seen only when every signed field is the same string as then (the signed
 * bytes are a function of those fields alone). The token and the expiry are still checked on
 * every command: the token against the one that last matched the grant's token hash, and hashed
 * when it is another.
 */
export interface VerifiedGrants {
  get(signature: string): VerifiedGrant | undefined;
  set(signature: string, value: VerifiedGrant): unknown;
}

/** What a box keeps of a grant whose signature verified: the signed fields, the expiry parsed. */
export interface VerifiedGrant {
  grant: Omit<SessionGrant, 'signature'>;
  expires: number;
  /** The bearer token whose SHA-256 was last found to be the grant's tokenHash. */
  token?: string;
}

/** `b` signs the same fields as `a` (a grant's signedPart): each the same string. */
const sameSigned = (a: Omit<SessionGrant, 'signature'>, b: SessionGrant): boolean =>
  (Object.keys(a) as (keyof typeof a)[]).every((k) => a[k] === b[k]);

/** Why a grant is not good now, or undefined when it is. */
export function grantProblem(
  key: KeyObject,
  grant: SessionGrant,
  now: Date,
  token?: string,
  verified?: VerifiedGrants,
): 'forged' | 'expired' | 'wrong-token' | undefined {
  let seen = verified?.get(grant.signature);
  if (!seen || !sameSigned(seen.grant, grant)) {
    if (!ecdsaVerify(key, grantBytes(grant), Buffer.from(grant.signature, 'base64')))
      return 'forged';
    seen = { grant: signedPart(grant), expires: Date.parse(grant.expiresAt) };
    verified?.set(grant.signature, seen);
  }
  if (token !== undefined && token !== seen.token) {
    if (tokenHashOf(token) !== grant.tokenHash) return 'wrong-token';
    seen.token = token;
  }
  if (!(seen.expires > now.getTime())) return 'expired';
  return undefined;
}
