/**
 * Tests of verifyIndicium (shared/indicium/verify.ts) against a vendor CA and meter certificates
 * made fresh in the test: valid, demo sample, bad signature, unknown certificate, unreadable.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  SIGNATURE_LENGTH,
  assembleIndicium,
  encodePayload,
  verifyIndicium,
} from '../../../shared/indicium';
import {
  fieldsFor,
  makeCa,
  makeMeter,
  makePki,
  newKeys,
  signIndicium,
  signPayload,
  sourceOf,
  type TestPki,
} from '../../fixtures/indicium/meter-pki';

let pki: TestPki;
beforeAll(async () => {
  pki = await makePki();
});

const meter = (i = 0) => {
  const m = pki.meters[i];
  if (!m) throw new Error('no meter');
  return m;
};

describe('verifyIndicium()', () => {
  it('accepts an indicium signed by the meter whose certificate the vendor CA issued', async () => {
    for (const m of pki.meters) {
      const bytes = await signIndicium(fieldsFor(m), m.keys.privateKey);
      const result = await verifyIndicium(bytes, pki.source);
      expect(result.verdict).toBe('valid');
      expect(result.indicium?.fields.deviceId).toBe(m.deviceId);
      expect(result.reason).toMatch(/valid postage 73 cents/);
    }
  });

  it('reports a correctly signed demo indicium as a demo sample', async () => {
    const bytes = await signIndicium(fieldsFor(meter(), { demo: true }), meter().keys.privateKey);
    const result = await verifyIndicium(bytes, pki.source);
    expect(result.verdict).toBe('demo-sample');
    expect(result.reason).toMatch(/not valid postage/);
  });

  it('refuses one changed payload byte as a bad signature', async () => {
    const bytes = await signIndicium(fieldsFor(meter()), meter().keys.privateKey);
    bytes[33] = (bytes[33] ?? 0) ^ 0x01; // postage
    expect((await verifyIndicium(bytes, pki.source)).verdict).toBe('bad-signature');
  });

  it('refuses every flipped signature bit position sampled as a bad signature', async () => {
    const good = await signIndicium(fieldsFor(meter()), meter().keys.privateKey);
    for (const at of [82, 100, 113, 114, 127, 145]) {
      const bytes = good.slice();
      bytes[at] = (bytes[at] ?? 0) ^ 0x80;
      expect((await verifyIndicium(bytes, pki.source)).verdict).toBe('bad-signature');
    }
  });

  it('refuses a changed payload re-signed by another key as a bad signature', async () => {
    const fields = fieldsFor(meter(), { postageCents: 10_000 });
    const forged = await signIndicium(fields, (await newKeys()).privateKey);
    expect((await verifyIndicium(forged, pki.source)).verdict).toBe('bad-signature');
    // Signed by the other meter's key but carrying this meter's serial and device ID.
    const crossed = await signIndicium(fieldsFor(meter(0)), meter(1).keys.privateKey);
    expect((await verifyIndicium(crossed, pki.source)).verdict).toBe('bad-signature');
  });

  it('refuses an all-zero signature as a bad signature', async () => {
    const bytes = assembleIndicium(
      encodePayload(fieldsFor(meter())),
      new Uint8Array(SIGNATURE_LENGTH),
    );
    expect((await verifyIndicium(bytes, pki.source)).verdict).toBe('bad-signature');
  });

  it('reports an unknown certificate serial as an unknown certificate', async () => {
    const fields = fieldsFor(meter(), { certificateSerial: 'ffffffffffffffff' });
    const bytes = await signIndicium(fields, meter().keys.privateKey);
    const result = await verifyIndicium(bytes, pki.source);
    expect(result.verdict).toBe('unknown-certificate');
    expect(result.reason).toMatch(/no certificate ffffffffffffffff/);
  });

  it('refuses a certificate that another CA issued, though the signature matches it', async () => {
    const rogueCa = await makeCa('CN=Test Postage Vendor CA'); // same name, other key
    const rogue = await makeMeter(rogueCa, meter().deviceId, meter().serialHex);
    const bytes = await signIndicium(fieldsFor(rogue), rogue.keys.privateKey);
    const source = sourceOf(pki.caPem, [rogue]);
    const result = await verifyIndicium(bytes, source);
    expect(result.verdict).toBe('unknown-certificate');
    expect(result.reason).toMatch(/not a vendor certificate/);
    // The same indicium is valid for a verifier that trusts the rogue CA: the CA check decided.
    expect((await verifyIndicium(bytes, sourceOf(rogueCa.pem, [rogue]))).verdict).toBe('valid');
  });

  it('refuses a certificate whose subject is not the device ID', async () => {
    const ca = { pem: pki.caPem, keys: pki.caKeys };
    const other = await makeMeter(ca, 'VPM000000009', '00000000000000c3', 'CN=VPM000000008');
    const bytes = await signIndicium(fieldsFor(other), other.keys.privateKey);
    const result = await verifyIndicium(bytes, sourceOf(pki.caPem, [other]));
    expect(result.verdict).toBe('unknown-certificate');
  });

  it('refuses a certificate filed under a serial that is not its own', async () => {
    const source = sourceOf(pki.caPem, []);
    source.find = (serial) => (serial === meter(1).serialHex ? meter(0).certPem : undefined);
    const fields = fieldsFor(meter(1));
    const bytes = await signIndicium(fields, meter(0).keys.privateKey);
    expect((await verifyIndicium(bytes, source)).verdict).toBe('unknown-certificate');
  });

  it('refuses a certificate text that is not a certificate', async () => {
    const source = sourceOf(pki.caPem, []);
    source.find = () => '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    const bytes = await signIndicium(fieldsFor(meter()), meter().keys.privateKey);
    expect((await verifyIndicium(bytes, source)).verdict).toBe('unknown-certificate');
  });

  it('refuses an indicium mailed before its certificate was valid', async () => {
    const bytes = await signIndicium(
      fieldsFor(meter(), { mailingDate: '1990-01-01' }),
      meter().keys.privateKey,
    );
    expect((await verifyIndicium(bytes, pki.source)).verdict).toBe('unknown-certificate');
  });

  it('reports bytes that do not decode as unreadable', async () => {
    const bytes = await signIndicium(fieldsFor(meter()), meter().keys.privateKey);
    const result = await verifyIndicium(bytes.slice(0, 100), pki.source);
    expect(result.verdict).toBe('unreadable');
    expect(result.reason).toMatch(/truncated/);
  });

  it('checks the signature over exactly the payload bytes', async () => {
    const fields = fieldsFor(meter());
    const payload = encodePayload(fields);
    const signature = await signPayload(payload, meter().keys.privateKey);
    expect((await verifyIndicium(assembleIndicium(payload, signature), pki.source)).verdict).toBe(
      'valid',
    );
  });
});
