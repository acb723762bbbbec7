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

/** The bytes the authentication box signs. */
export function grantBytes(g: Omit<SessionGrant, 'signature'>): Buffer {
  return Buffer.from(
    `${GRANT_CONTEXT}\n${canonicalJson({
      mailerId: g.mailerId,
      sessionId: g.sessionId,
      expiresAt: g.expiresAt,
      tokenHash: g.tokenHash,
    })}`,
    'utf8',
  );
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
 * Grants whose signature a box has verified, by their exact signed bytes and signature: the same
 * grant comes with every command of its session, and checking its ECDSA signature took twice the
 * time of signing the indicium. Only a signature that verified is remembered, and only for the
 * bytes it was verified on; the token and the expiry are still checked on every command.
 */
export interface VerifiedGrants {
  has(key: string): boolean;
  set(key: string, value: true): unknown;
}

/** Why a grant is not good now, or undefined when it is. */
export function grantProblem(
  key: KeyObject,
  grant: SessionGrant,
  now: Date,
  token?: string,
  verified?: VerifiedGrants,
): 'forged' | 'expired' | 'wrong-token' | undefined {
  const bytes = grantBytes(grant);
  const seen = `${bytes.toString('base64')}.${grant.signature}`;
  if (!verified?.has(seen)) {
    if (!ecdsaVerify(key, bytes, Buffer.from(grant.signature, 'base64'))) return 'forged';
    verified?.set(seen, true);
  }
  if (token !== undefined && tokenHashOf(token) !== grant.tokenHash) return 'wrong-token';
  const expires = Date.parse(grant.expiresAt);
  if (!(expires > now.getTime())) return 'expired';
  return undefined;
}
