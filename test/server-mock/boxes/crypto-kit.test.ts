/**
 * Tests of the boxes' crypto-kit where it has its own arithmetic: the low-s form of an ECDSA
 * signature by bytes must be exactly shared/indicium/low-s.ts's bigint toLowS, and what
 * ecdsaSign gives must be low-s and verify.
 */
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ecdsaSign, ecdsaVerify, lowS } from '../../../server-mock/boxes/crypto-kit';
import { P256_ORDER, isLowS, toLowS } from '../../../shared/indicium/low-s';

const bytesOf = (value: bigint): Buffer => Buffer.from(value.toString(16).padStart(64, '0'), 'hex');
const half = P256_ORDER >> 1n;

describe('crypto-kit', () => {
  it('lowS() gives toLowS() for every s below the group order, the edges included', () => {
    const edges = [
      1n,
      2n,
      half - 1n,
      half,
      half + 1n,
      P256_ORDER - 2n,
      P256_ORDER - 1n,
      255n << 8n,
    ];
    const r = Buffer.alloc(32, 0xab);
    const check = (s: bigint): void => {
      const signature = Buffer.concat([r, bytesOf(s)]);
      const expected = Buffer.from(toLowS(signature));
      expect(lowS(Buffer.from(signature)).equals(expected), s.toString(16)).toBe(true);
    };
    for (const s of edges) check(s);
    fc.assert(fc.property(fc.bigInt({ min: 1n, max: P256_ORDER - 1n }), check), { numRuns: 2000 });
  });

  it('ecdsaSign() gives low-s signatures that verify', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    for (let i = 0; i < 64; i++) {
      const message = Buffer.from(`message ${i}`);
      const signature = ecdsaSign(privateKey, message);
      expect(isLowS(signature)).toBe(true);
      expect(ecdsaVerify(publicKey, message, signature)).toBe(true);
    }
  });
});
