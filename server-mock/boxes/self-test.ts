/**
 * @module boxes/self-test
 * Power-up self-tests of a box (FIPS 140-3 style, DESIGN.md "Facts from the field"): a
 * known-answer test for every algorithm the box uses, from published vectors (FIPS 180-2,
 * RFC 4231, the GCM specification, RFC 5869, RFC 7914) or a fixed key (ECDSA: verify a known
 * signature, then a pairwise-consistency sign/verify), plus the continuous random-source test.
 * A box that fails one serves nothing (SELF_TEST_FAILED). A test-only hook (box-hooks.ts, set by
 * the test harness's VPM_BOX_FORCE_SELFTEST_FAIL=<algorithm>) corrupts one expected answer to
 * prove that path; a production box never sets it.
 */
import { scryptSync } from 'node:crypto';
import {
  aesGcmOpen,
  aesGcmSeal,
  ecdsaVerify,
  hkdf,
  hmacSha256,
  pairwiseConsistent,
  privateKeyFromPkcs8,
  publicKeyFromSpki,
  randomBytes,
  sha256,
} from './crypto-kit';

export const SELF_TEST_ALGORITHMS = [
  'sha256',
  'hmac-sha256',
  'aes-256-gcm',
  'hkdf-sha256',
  'ecdsa-p256',
  'scrypt',
  'random',
] as const;
export type SelfTestAlgorithm = (typeof SELF_TEST_ALGORITHMS)[number];

const hex = (text: string): Buffer => Buffer.from(text, 'hex');

// A fixed key for the ECDSA known-answer test only; it signs nothing else.
const KAT_ECDSA_PKCS8 =
  'MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgAFJOMLViZ2Zz1plG0mbMm8J4RXQvG5j95Nm+3RVPn2mhRANCAAS9AZXTnH3QDcBEjzFZAG9wzoA5h3KymWMbZ0tFWI6LZw2D/0fnDDHYMv84IT9y1F+IokvRhZBnWtaD9U479bZ8';
const KAT_ECDSA_SPKI =
  'MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvQGV05x90A3ARI8xWQBvcM6AOYdyspljG2dLRViOi2cNg/9H5wwx2DL/OCE/ctRfiKJL0YWQZ1rWg/VOO/W2fA==';
const KAT_ECDSA_MESSAGE = 'vpm self-test ecdsa p-256';
const KAT_ECDSA_SIGNATURE =
  '4ebd329326f28e246b67be93588cdf6874df6a3570afbcbabdc788900f6f99f120e39bf7b6fabccd23d12456fbc7caaebe7c77a635237ddd0fd9cfb2e9c54e17';

type Check = (expected: (answer: string) => string) => boolean;

const TESTS: Record<SelfTestAlgorithm, Check> = {
  // FIPS 180-2 "abc"
  sha256: (e) =>
    sha256('abc').toString('hex') ===
    e('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'),
  // RFC 4231 test case 2
  'hmac-sha256': (e) =>
    hmacSha256(Buffer.from('Jefe'), 'what do ya want for nothing?').toString('hex') ===
    e('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'),
  // GCM specification test case 14 (AES-256, zero key, zero IV, one zero block), then open it
  'aes-256-gcm': (e) => {
    const key = Buffer.alloc(32);
    const sealed = aesGcmSeal(key, Buffer.alloc(16), '', Buffer.alloc(12));
    const ok =
      sealed.subarray(12).toString('hex') ===
      e('cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919');
    const opened = aesGcmOpen(key, sealed, '');
    return ok && opened !== undefined && opened.equals(Buffer.alloc(16));
  },
  // RFC 5869 test case 1
  'hkdf-sha256': (e) =>
    hkdf(
      Buffer.alloc(22, 0x0b),
      hex('000102030405060708090a0b0c'),
      hex('f0f1f2f3f4f5f6f7f8f9'),
      42,
    ).toString('hex') ===
    e('3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865'),
  'ecdsa-p256': (e) => {
    const priv = privateKeyFromPkcs8(Buffer.from(KAT_ECDSA_PKCS8, 'base64'));
    const pub = publicKeyFromSpki(Buffer.from(KAT_ECDSA_SPKI, 'base64'));
    const known = ecdsaVerify(pub, Buffer.from(KAT_ECDSA_MESSAGE), hex(e(KAT_ECDSA_SIGNATURE)));
    return known && pairwiseConsistent(priv, pub);
  },
  // RFC 7914 section 12, second vector
  scrypt: (e) =>
    scryptSync('password', 'NaCl', 64, { N: 1024, r: 8, p: 16 }).toString('hex') ===
    e(
      'fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b3731622eaf30d92e22a3886ff109279d9830dac727afb94a83ee6d8360cbdfa2cc0640',
    ),
  // continuous test: consecutive blocks differ (and a forced failure repeats a block)
  random: (e) => {
    const a = randomBytes(32).toString('hex');
    const b = e('') === '' ? randomBytes(32).toString('hex') : a;
    return a !== b;
  },
};

/** Runs the known-answer tests a box needs; returns the first failing algorithm, if any. */
export function runSelfTests(
  algorithms: readonly SelfTestAlgorithm[],
  forceFail: string | undefined,
): SelfTestAlgorithm | undefined {
  for (const algorithm of algorithms) {
    const corrupt = forceFail === algorithm;
    const expected = (answer: string): string => {
      if (!corrupt) return answer;
      if (answer === '') return 'x';
      const last = answer.at(-1) === '0' ? '1' : '0';
      return answer.slice(0, -1) + last;
    };
    let passed: boolean;
    try {
      passed = TESTS[algorithm](expected);
    } catch {
      passed = false;
    }
    if (!passed) return algorithm;
  }
  return undefined;
}
