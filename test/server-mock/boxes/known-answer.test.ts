/**
 * Known-answer vectors (test/fixtures/boxes/known-answers.json): fixed keys and inputs with the
 * expected record MAC, key derivation, token-key wrapping and indicium signature. The real code
 * recomputes each, and an independent computation straight from node:crypto checks the recipe.
 */
import { createHmac, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { encodePayload, type IndiciumFields } from '../../../shared/indicium/codec';
import type { MeterRecord } from '../../../server-mock/boxes/api';
import { ecdsaVerify, publicKeyFromSpki } from '../../../server-mock/boxes/crypto-kit';
import {
  computeRecordMac,
  recordDigest,
  recordMacInput,
  recordMacKey,
  tokenWrapKey,
  unwrapTokenKey,
  wrapTokenKey,
} from '../../../server-mock/boxes/record-mac';
import { runSelfTests, SELF_TEST_ALGORITHMS } from '../../../server-mock/boxes/self-test';

interface Vectors {
  recordMac: {
    recordMasterHex: string;
    record: Omit<MeterRecord, 'mac'>;
    macKeyHex: string;
    macInputHex: string;
    mac: string;
    digestHex: string;
  };
  keyDerivation: {
    wrapMasterHex: string;
    serial: string;
    keyVersion: number;
    wrapKeyHex: string;
    ivHex: string;
    tokenPrivateKeyPkcs8: string;
    wrappedKey: string;
  };
  indiciumSignature: {
    tokenPublicKeySpki: string;
    fields: IndiciumFields;
    payloadHex: string;
    signatureHex: string;
    indicium: string;
  };
}

const vectors = JSON.parse(
  readFileSync(new URL('../../fixtures/boxes/known-answers.json', import.meta.url), 'utf8'),
) as Vectors;
const hex = (text: string): Buffer => Buffer.from(text, 'hex');

describe('Known-answer vectors', () => {
  it('derive the per-meter, per-period record MAC key and the record MAC', () => {
    const v = vectors.recordMac;
    const master = hex(v.recordMasterHex);
    expect(recordMacKey(master, v.record.serial, v.record.macPeriod).toString('hex')).toBe(
      v.macKeyHex,
    );
    expect(recordMacInput(v.record).toString('hex')).toBe(v.macInputHex);
    expect(computeRecordMac(master, v.record)).toBe(v.mac);
    expect(recordDigest({ ...v.record, mac: v.mac })).toBe(v.digestHex);
    // the recipe, straight from node:crypto
    const key = Buffer.from(
      hkdfSync(
        'sha256',
        master,
        'vpm-record-mac-v1',
        `${v.record.serial}|${v.record.macPeriod}`,
        32,
      ),
    );
    expect(key.toString('hex')).toBe(v.macKeyHex);
    expect(createHmac('sha256', key).update(hex(v.macInputHex)).digest('base64')).toBe(v.mac);
  });

  it('derive the token-key wrap key and wrap the token key', () => {
    const v = vectors.keyDerivation;
    const master = hex(v.wrapMasterHex);
    expect(tokenWrapKey(master, v.serial).toString('hex')).toBe(v.wrapKeyHex);
    expect(
      Buffer.from(hkdfSync('sha256', master, 'vpm-token-wrap-v1', v.serial, 32)).toString('hex'),
    ).toBe(v.wrapKeyHex);
    const pkcs8 = Buffer.from(v.tokenPrivateKeyPkcs8, 'base64');
    expect(wrapTokenKey(master, v.serial, v.keyVersion, pkcs8, hex(v.ivHex))).toBe(v.wrappedKey);
    expect(
      unwrapTokenKey(master, v.serial, v.keyVersion, Buffer.from(v.wrappedKey, 'base64')),
    ).toEqual(pkcs8);
    expect(
      unwrapTokenKey(master, 'VPM000000043', v.keyVersion, Buffer.from(v.wrappedKey, 'base64')),
    ).toBeUndefined();
  });

  it('encode the indicium payload and verify its signature with the token public key', () => {
    const v = vectors.indiciumSignature;
    const payload = encodePayload(v.fields);
    expect(Buffer.from(payload).toString('hex')).toBe(v.payloadHex);
    const pub = publicKeyFromSpki(Buffer.from(v.tokenPublicKeySpki, 'base64'));
    expect(ecdsaVerify(pub, payload, hex(v.signatureHex))).toBe(true);
    expect(Buffer.from(v.indicium, 'base64').toString('hex')).toBe(v.payloadHex + v.signatureHex);
    const tampered = Buffer.from(payload);
    tampered[30] = tampered[30]! ^ 1;
    expect(ecdsaVerify(pub, tampered, hex(v.signatureHex))).toBe(false);
  });

  it('pass every power-up self-test, and each forced failure is caught', () => {
    expect(runSelfTests(SELF_TEST_ALGORITHMS, undefined)).toBeUndefined();
    for (const algorithm of SELF_TEST_ALGORITHMS)
      expect(runSelfTests(SELF_TEST_ALGORITHMS, algorithm)).toBe(algorithm);
  });
});
