/**
 * @module boxes/auth-box
 * The authentication box (patent part 40): the only holder of the key that opens stored user
 * verifiers. enroll turns a password into a scrypt verifier (N = 2^14, r = 8, p = 1: memory-hard)
 * sealed with AES-256-GCM under the box's verifier key and bound to the mailer id; authenticate
 * opens it and compares inside the box in constant time, then issues a session grant signed with
 * HMAC-SHA-256 under the box's grant key; checkGrant verifies signature and expiry.
 */
import { randomUUID, scrypt } from 'node:crypto';
import { BoxError, type SessionGrant } from './api';
import { command, secret, type BoxContext, type BoxProgram, type BoxType } from './box-program';
import {
  aesGcmOpen,
  aesGcmSeal,
  canonicalJson,
  hmacSha256,
  randomBytes,
  sameBytes,
} from './crypto-kit';
import * as v from './validate';

export const SCRYPT_PARAMS = { N: 2 ** 14, r: 8, p: 1 } as const;
const MAX_TTL_SECONDS = 30 * 24 * 3600;

interface VerifierBody {
  v: 1;
  salt: string;
  hash: string;
  N: number;
  r: number;
  p: number;
}

function scryptAsync(
  password: string,
  salt: Buffer,
  p: { N: number; r: number; p: number },
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, 32, { ...p, maxmem: 64 * 1024 * 1024 }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

const authFailed = (message: string): never => {
  throw new BoxError('AUTH_FAILED', message, 'auth');
};
const verifierAad = (mailerId: string): string => `vpm-verifier-v1|${mailerId}`;

function createAuthBox(ctx: BoxContext): BoxProgram {
  const verifierKey = secret(ctx, 'verifierKey', 32);
  const grantKey = secret(ctx, 'grantKey', 32);
  const grantMac = (g: Omit<SessionGrant, 'signature'>): Buffer =>
    hmacSha256(
      grantKey,
      `vpm-grant-v1\n${canonicalJson({ mailerId: g.mailerId, sessionId: g.sessionId, expiresAt: g.expiresAt })}`,
    );

  const enroll = command({
    check(args: unknown) {
      const a = v.object(args, 'enroll');
      v.exactKeys(a, 'enroll', ['mailerId', 'password']);
      return { mailerId: v.text(a.mailerId, 'mailerId', 128), password: passwordOf(a.password) };
    },
    async work({ mailerId, password }: { mailerId: string; password: string }) {
      const salt = randomBytes(16);
      const hash = await scryptAsync(password, salt, SCRYPT_PARAMS);
      const body: VerifierBody = {
        v: 1,
        salt: salt.toString('base64'),
        hash: hash.toString('base64'),
        ...SCRYPT_PARAMS,
      };
      return {
        verifier: aesGcmSeal(
          verifierKey,
          Buffer.from(JSON.stringify(body)),
          verifierAad(mailerId),
        ).toString('base64'),
      };
    },
  });

  const authenticate = command({
    check(args: unknown) {
      const a = v.object(args, 'authenticate');
      v.exactKeys(a, 'authenticate', ['mailerId', 'password', 'verifier', 'ttlSeconds']);
      return {
        mailerId: v.text(a.mailerId, 'mailerId', 128),
        password: passwordOf(a.password),
        verifier: v.base64(a.verifier, 'verifier', 1024),
        ttlSeconds: v.integer(a.ttlSeconds, 'ttlSeconds', 1, MAX_TTL_SECONDS),
      };
    },
    async work({
      mailerId,
      password,
      verifier,
      ttlSeconds,
    }: {
      mailerId: string;
      password: string;
      verifier: Buffer;
      ttlSeconds: number;
    }) {
      const opened = aesGcmOpen(verifierKey, verifier, verifierAad(mailerId));
      if (!opened)
        return authFailed(`authenticate: the verifier does not open for mailer ${mailerId}`);
      const body = JSON.parse(opened.toString('utf8')) as VerifierBody;
      if (body.N < SCRYPT_PARAMS.N || body.N > 2 ** 17 || body.r !== 8 || body.p !== 1) {
        return authFailed('authenticate: verifier parameters are not acceptable');
      }
      const hash = await scryptAsync(password, Buffer.from(body.salt, 'base64'), body);
      if (!sameBytes(hash, Buffer.from(body.hash, 'base64')))
        return authFailed('authenticate: wrong password');
      const grant = {
        mailerId,
        sessionId: randomUUID(),
        expiresAt: new Date(ctx.now().getTime() + ttlSeconds * 1000).toISOString(),
      };
      return { ...grant, signature: grantMac(grant).toString('base64') } satisfies SessionGrant;
    },
  });

  const checkGrant = command({
    check(args: unknown) {
      const a = v.object(args, 'checkGrant');
      v.exactKeys(a, 'checkGrant', ['grant']);
      const g = v.object(a.grant, 'grant');
      v.exactKeys(g, 'grant', ['mailerId', 'sessionId', 'expiresAt', 'signature']);
      return {
        mailerId: v.text(g.mailerId, 'grant.mailerId', 128),
        sessionId: v.text(g.sessionId, 'grant.sessionId', 64),
        expiresAt: v.text(g.expiresAt, 'grant.expiresAt', 32),
        signature: v.text(g.signature, 'grant.signature', 64),
      };
    },
    work(grant: SessionGrant) {
      const signature = Buffer.from(grant.signature, 'base64');
      if (!sameBytes(signature, grantMac(grant)))
        return authFailed('checkGrant: signature does not verify');
      const expires = Date.parse(grant.expiresAt);
      if (!(expires > ctx.now().getTime())) return authFailed('checkGrant: grant has expired');
      return { mailerId: grant.mailerId, sessionId: grant.sessionId };
    },
  });

  return {
    commands: { enroll, authenticate, checkGrant },
    zeroize() {
      verifierKey.fill(0);
      grantKey.fill(0);
    },
  };
}

function passwordOf(value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 1024) {
    v.bad('password: must be a string of 1–1024 characters');
  }
  return value;
}

export const authBox: BoxType = {
  selfTests: ['sha256', 'hmac-sha256', 'aes-256-gcm', 'hkdf-sha256', 'scrypt', 'random'],
  create: createAuthBox,
};
