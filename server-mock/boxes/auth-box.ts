/**
 * @module boxes/auth-box
 * The authentication box (patent part 40): the only holder of the key that opens stored user
 * verifiers. enroll turns a password into a scrypt verifier (N = 2^14, r = 8, p = 1: memory-hard)
 * sealed with AES-256-GCM under the box's verifier key and bound to the mailer id; authenticate
 * opens it and compares inside the box in constant time, then issues a session grant (grant.ts)
 * signed with ECDSA P-256 under the box's grant key, whose public half the meter box holds;
 * checkGrant verifies signature and expiry.
 */
import { createPublicKey, randomUUID, scrypt, type KeyObject } from 'node:crypto';
import { BoxError, type SessionGrant } from './api';
import { command, secret, type BoxContext, type BoxProgram, type BoxType } from './box-program';
import {
  aesGcmOpen,
  aesGcmSeal,
  pairwiseConsistent,
  privateKeyFromPkcs8,
  randomBytes,
  sameBytes,
} from './crypto-kit';
import { grantProblem, grantShape, signGrant } from './grant';
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
  const grantPkcs8 = secret(ctx, 'grantSigningKey');
  let grantKey: KeyObject | undefined = privateKeyFromPkcs8(grantPkcs8);
  grantPkcs8.fill(0);
  const grantPublic = createPublicKey(grantKey);
  if (!pairwiseConsistent(grantKey, grantPublic))
    throw new Error('grant key pair failed the pairwise-consistency test');

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
      v.exactKeys(a, 'authenticate', [
        'mailerId',
        'password',
        'verifier',
        'ttlSeconds',
        'tokenHash',
      ]);
      return {
        mailerId: v.text(a.mailerId, 'mailerId', 128),
        password: passwordOf(a.password),
        verifier: v.base64(a.verifier, 'verifier', 1024),
        ttlSeconds: v.integer(a.ttlSeconds, 'ttlSeconds', 1, MAX_TTL_SECONDS),
        tokenHash: v.text(a.tokenHash, 'tokenHash', 64, /^[0-9a-f]{64}$/),
      };
    },
    async work({
      mailerId,
      password,
      verifier,
      ttlSeconds,
      tokenHash,
    }: {
      mailerId: string;
      password: string;
      verifier: Buffer;
      ttlSeconds: number;
      tokenHash: string;
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
      if (!grantKey) throw new BoxError('TAMPERED', 'auth box: zeroized', 'auth');
      return signGrant(grantKey, {
        mailerId,
        sessionId: randomUUID(),
        expiresAt: new Date(ctx.now().getTime() + ttlSeconds * 1000).toISOString(),
        tokenHash,
      }) satisfies SessionGrant;
    },
  });

  const checkGrant = command({
    check(args: unknown) {
      const a = v.object(args, 'checkGrant');
      v.exactKeys(a, 'checkGrant', ['grant']);
      return grantShape(a.grant);
    },
    work(grant: SessionGrant) {
      const problem = grantProblem(grantPublic, grant, ctx.now());
      if (problem === 'forged') return authFailed('checkGrant: signature does not verify');
      if (problem) return authFailed('checkGrant: grant has expired');
      return { mailerId: grant.mailerId, sessionId: grant.sessionId };
    },
  });

  return {
    commands: { enroll, authenticate, checkGrant },
    zeroize() {
      verifierKey.fill(0);
      grantKey = undefined; // a KeyObject cannot be overwritten; drop the only reference
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
  selfTests: [
    'sha256',
    'hmac-sha256',
    'aes-256-gcm',
    'hkdf-sha256',
    'ecdsa-p256',
    'scrypt',
    'random',
  ],
  create: createAuthBox,
};
