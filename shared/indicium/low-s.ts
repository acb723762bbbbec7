/**
 * @module indicium/low-s
 * ECDSA signatures are malleable: if (r, s) verifies, so does (r, n − s). The product makes every
 * P-256 signature in low-s form (s ≤ n/2) and refuses the high-s twin when it verifies, so one
 * signed payload has exactly one valid signature (as Bitcoin's BIP 62 and libsecp256k1 do).
 * Pure TypeScript (bigint), usable on both sides.
 */

/** The order n of the P-256 group. */
export const P256_ORDER = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
const HALF_ORDER = P256_ORDER >> 1n;

function toBigInt(bytes: Uint8Array): bigint {
  let value = 0n;
  for (const byte of bytes) value = (value << 8n) | BigInt(byte);
  return value;
}

function toBytes(value: bigint, length: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(length);
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(value & 0xffn);
    value >>= 8n;
  }
  return out;
}

/** True when an r || s signature (64 bytes) has 0 < s ≤ n/2. */
export function isLowS(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  const s = toBigInt(signature.subarray(32));
  return s > 0n && s <= HALF_ORDER;
}

/** The low-s form of an r || s signature: (r, n − s) when s > n/2, else the same bytes. */
export function toLowS(signature: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(signature);
  if (signature.length !== 64) return out;
  const s = toBigInt(signature.subarray(32));
  if (s > HALF_ORDER) out.set(toBytes(P256_ORDER - s, 32), 32);
  return out;
}

/** The other valid signature over the same payload: (r, n − s). For tests and the verifier. */
export function malleate(signature: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(signature);
  const s = toBigInt(signature.subarray(32));
  out.set(toBytes(P256_ORDER - s, 32), 32);
  return out;
}
