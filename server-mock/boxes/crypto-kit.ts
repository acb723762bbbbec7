/**
 * @module boxes/crypto-kit
 * The few primitives every emulated secure box uses (patent Fig. 2, the boxes' cryptographic
 * core): SHA-256, HMAC-SHA-256, HKDF-SHA-256, AES-256-GCM wrap/unwrap, ECDSA P-256 with r||s
 * signatures, canonical JSON and strict base64. All of node:crypto, all synchronous, so a box can
 * run a batch of commands without yielding. The power-up self-tests (self-test.ts) check exactly
 * these functions.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  hkdfSync,
  randomBytes as nodeRandomBytes,
  sign,
  timingSafeEqual,
  verify,
  type KeyObject,
} from 'node:crypto';
import { P256_ORDER, isLowS } from '../../shared/indicium/low-s';

/** SHA-256 of the parts one after the other (UTF-8 for text), without joining them first. */
export function sha256(...parts: (Uint8Array | string)[]): Buffer {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest();
}

export function hmacSha256(key: Uint8Array, data: Uint8Array | string): Buffer {
  return createHmac('sha256', key).update(data).digest();
}

/** HKDF-SHA-256 (RFC 5869). */
export function hkdf(
  ikm: Uint8Array,
  salt: Uint8Array | string,
  info: Uint8Array | string,
  length = 32,
): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, info, length));
}

/** Constant-time equality of two byte strings of possibly different lengths. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

let lastRandomBlock: Buffer | undefined;

/**
 * Random bytes with the continuous random-source test (FIPS 140 style): every 16-byte block
 * drawn is compared with the previous one; a repeat means the source is stuck.
 */
export function randomBytes(length: number): Buffer {
  const out = nodeRandomBytes(Math.max(length, 16));
  const block = out.subarray(0, 16);
  if (lastRandomBlock && lastRandomBlock.equals(block)) {
    throw new Error('random source: continuous test failed (repeated block)');
  }
  lastRandomBlock = Buffer.from(block);
  return out.subarray(0, length);
}

/** AES-256-GCM: output iv(12) || ciphertext || tag(16). */
export function aesGcmSeal(
  key: Uint8Array,
  plaintext: Uint8Array,
  aad: string,
  iv?: Uint8Array,
): Buffer {
  const nonce = iv ?? randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, nonce);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([nonce, body, cipher.getAuthTag()]);
}

/** Opens what aesGcmSeal made; returns undefined when the tag does not verify. */
export function aesGcmOpen(key: Uint8Array, sealed: Uint8Array, aad: string): Buffer | undefined {
  if (sealed.length < 12 + 16) return undefined;
  const iv = sealed.subarray(0, 12);
  const tag = sealed.subarray(sealed.length - 16);
  const body = sealed.subarray(12, sealed.length - 16);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(body), decipher.final()]);
  } catch {
    return undefined;
  }
}

/**
 * ECDSA P-256 / SHA-256 signature as r || s (64 bytes), always in low-s form: (r, n − s) would
 * verify as well, and one payload must have one signature (shared/indicium/low-s.ts).
 */
export function ecdsaSign(privateKey: KeyObject, data: Uint8Array): Buffer {
  return lowS(sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
}

const ORDER_BYTES = Buffer.from(P256_ORDER.toString(16).padStart(64, '0'), 'hex');
const HALF_ORDER_BYTES = Buffer.from((P256_ORDER >> 1n).toString(16).padStart(64, '0'), 'hex');

/**
 * shared/indicium/low-s.ts's toLowS on bytes, in place (a box signs every piece: its bigint
 * arithmetic cost a tenth of the signature): s > n/2 becomes n − s, by big-endian subtraction.
 */
export function lowS(signature: Buffer): Buffer {
  if (signature.length !== 64) return signature;
  const s = signature.subarray(32);
  if (Buffer.compare(s, HALF_ORDER_BYTES) <= 0) return signature;
  let borrow = 0;
  for (let i = 31; i >= 0; i--) {
    const digit = (ORDER_BYTES[i] as number) - (s[i] as number) - borrow;
    s[i] = digit & 0xff;
    borrow = digit < 0 ? 1 : 0;
  }
  return signature;
}

export function ecdsaVerify(
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== 64 || !isLowS(signature)) return false;
  return verify('sha256', data, { key: publicKey, dsaEncoding: 'ieee-p1363' }, signature);
}

export function privateKeyFromPkcs8(der: Uint8Array): KeyObject {
  return createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' });
}

export function publicKeyFromSpki(der: Uint8Array): KeyObject {
  return createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' });
}

/** Pairwise-consistency test of a key pair: sign a fresh message and verify it. */
export function pairwiseConsistent(privateKey: KeyObject, publicKey: KeyObject): boolean {
  const message = randomBytes(32);
  return ecdsaVerify(publicKey, message, ecdsaSign(privateKey, message));
}

/** Strict base64: undefined unless the text is the canonical encoding of its bytes. */
export function fromBase64(text: unknown): Buffer | undefined {
  if (typeof text !== 'string') return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? bytes : undefined;
}

/** Canonical JSON: one definition for boxes, data center and client (shared/canonical-json.ts). */
export { canonicalJson } from '../../shared/canonical-json';
