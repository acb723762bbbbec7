/**
 * Tests of the indicium codec (shared/indicium/codec.ts, layout in docs/indicium-format.md):
 * round trips of arbitrary valid fields, and refusal of every malformed shape with a clear
 * IndiciumFormatError.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  INDICIUM_LENGTH,
  IndiciumFormatError,
  PAYLOAD_LENGTH,
  SIGNATURE_LENGTH,
  assembleIndicium,
  decodeIndicium,
  encodePayload,
  withRegisters,
  type IndiciumFields,
} from '../../../shared/indicium';
import { MAIL_CLASS_NAMES } from '../../../shared/mail-class';

const alnum = (n: number): fc.Arbitrary<string> =>
  fc
    .array(fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'), {
      minLength: n,
      maxLength: n,
    })
    .map((a) => a.join(''));
const digits = (n: number): fc.Arbitrary<string> =>
  fc.array(fc.constantFrom(...'0123456789'), { minLength: n, maxLength: n }).map((a) => a.join(''));
const hexDigits = (n: number): fc.Arbitrary<string> =>
  fc
    .array(fc.constantFrom(...'0123456789abcdef'), { minLength: n, maxLength: n })
    .map((a) => a.join(''));

const fieldsArb: fc.Arbitrary<IndiciumFields> = fc.record({
  demo: fc.boolean(),
  mailClass: fc.constantFrom(...MAIL_CLASS_NAMES),
  certificateSerial: hexDigits(16),
  deviceId: alnum(12),
  ascendingCents: fc.maxSafeNat(),
  postageCents: fc.integer({ min: 1, max: 0xffffffff }),
  mailingDate: fc
    .date({
      min: new Date('0000-01-01T00:00:00Z'),
      max: new Date('9999-12-31T00:00:00Z'),
      noInvalidDate: true,
    })
    .map((d) => d.toISOString().slice(0, 10)),
  originZip: digits(5),
  destinationZip: fc.oneof(digits(5), digits(9)),
  softwareId: alnum(4),
  descendingCents: fc.maxSafeNat(),
  pieceId: fc.uuid().map((u) => u.toLowerCase()),
});
const signatureArb = fc.uint8Array({ minLength: SIGNATURE_LENGTH, maxLength: SIGNATURE_LENGTH });

const sample: IndiciumFields = {
  demo: false,
  mailClass: 'priority',
  certificateSerial: '00000000000000a1',
  deviceId: 'VPM000000001',
  ascendingCents: 1_000_000,
  postageCents: 73,
  mailingDate: '2026-11-25',
  originZip: '20260',
  destinationZip: '94501',
  softwareId: 'SB01',
  descendingCents: 5000,
  pieceId: '0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0',
};

function validBytes(): Uint8Array<ArrayBuffer> {
  return assembleIndicium(encodePayload(sample), new Uint8Array(SIGNATURE_LENGTH).fill(7));
}

/** A valid indicium with some bytes replaced. */
function patched(at: number, values: number[] | string): Uint8Array<ArrayBuffer> {
  const bytes = validBytes();
  const list = typeof values === 'string' ? [...values].map((c) => c.charCodeAt(0)) : values;
  bytes.set(list, at);
  return bytes;
}

function refusal(bytes: Uint8Array): IndiciumFormatError {
  try {
    decodeIndicium(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(IndiciumFormatError);
    expect((error as IndiciumFormatError).code).toBe('INDICIUM_MALFORMED');
    return error as IndiciumFormatError;
  }
  throw new Error('decodeIndicium accepted malformed input');
}

describe('indicium codec', () => {
  describe('encodePayload() › assembleIndicium() › decodeIndicium()', () => {
    it('gives back exactly the fields, payload and signature for any valid fields', () => {
      fc.assert(
        fc.property(fieldsArb, signatureArb, (fields, signature) => {
          const payload = encodePayload(fields);
          expect(payload.length).toBe(PAYLOAD_LENGTH);
          const bytes = assembleIndicium(payload, signature);
          expect(bytes.length).toBe(INDICIUM_LENGTH);
          const decoded = decodeIndicium(bytes);
          expect(decoded.version).toBe(1);
          expect(decoded.fields).toEqual(fields);
          expect(decoded.payload).toEqual(payload);
          expect(decoded.signature).toEqual(Uint8Array.from(signature));
        }),
        { numRuns: 500 },
      );
    });

    it('withRegisters() gives the bytes encodePayload() gives with those registers', () => {
      fc.assert(
        fc.property(fieldsArb, fc.maxSafeNat(), fc.maxSafeNat(), (fields, asc, desc) => {
          const template = encodePayload(fields);
          const copy = Uint8Array.from(template);
          expect(withRegisters(template, asc, desc)).toEqual(
            encodePayload({ ...fields, ascendingCents: asc, descendingCents: desc }),
          );
          expect(template).toEqual(copy);
        }),
        { numRuns: 200 },
      );
      for (const bad of [-1, 2 ** 53, 1.5])
        expect(() => withRegisters(encodePayload(sample), bad, 0)).toThrow(IndiciumFormatError);
      expect(() => withRegisters(encodePayload(sample), 0, -1)).toThrow(IndiciumFormatError);
    });

    it('decodes from a view into a larger buffer', () => {
      const bytes = validBytes();
      const big = new Uint8Array(INDICIUM_LENGTH + 10);
      big.set(bytes, 5);
      expect(decodeIndicium(big.subarray(5, 5 + INDICIUM_LENGTH)).fields).toEqual(sample);
    });

    it('lays the fields out at the documented offsets', () => {
      const bytes = validBytes();
      const view = new DataView(bytes.buffer);
      expect([bytes[0], bytes[1], bytes[2], bytes[3]]).toEqual([1, 1, 0, 3]);
      expect(Buffer.from(bytes.subarray(4, 12)).toString('hex')).toBe(sample.certificateSerial);
      expect(Buffer.from(bytes.subarray(12, 24)).toString('ascii')).toBe(sample.deviceId);
      expect(view.getBigUint64(24)).toBe(1_000_000n);
      expect(view.getUint32(32)).toBe(73);
      expect(view.getUint32(36)).toBe(20261125);
      expect(Buffer.from(bytes.subarray(40, 45)).toString('ascii')).toBe('20260');
      expect(Buffer.from(bytes.subarray(45, 54)).toString('ascii')).toBe('94501    ');
      expect(Buffer.from(bytes.subarray(54, 58)).toString('ascii')).toBe('SB01');
      expect(view.getBigUint64(58)).toBe(5000n);
      expect(Buffer.from(bytes.subarray(66, 82)).toString('hex')).toBe(
        sample.pieceId.replace(/-/g, ''),
      );
    });
  });

  describe('decodeIndicium() refuses', () => {
    it('empty input', () => {
      expect(refusal(new Uint8Array(0)).message).toMatch(/no data/);
    });

    it('input truncated at every length', () => {
      const bytes = validBytes();
      for (let n = 1; n < INDICIUM_LENGTH; n++) {
        expect(refusal(bytes.slice(0, n)).message).toMatch(`truncated: ${n} of 146 bytes`);
      }
    });

    it('oversized input, whatever the extra bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ minLength: 1, maxLength: 300 }), (extra) => {
          const bytes = new Uint8Array(INDICIUM_LENGTH + extra.length);
          bytes.set(validBytes());
          bytes.set(extra, INDICIUM_LENGTH);
          expect(refusal(bytes).message).toMatch(/oversized/);
        }),
      );
    });

    it('an unknown version', () => {
      for (const version of [0, 2, 255]) {
        expect(refusal(patched(0, [version])).message).toMatch(`unknown version ${version}`);
      }
    });

    it('an unknown signature algorithm', () => {
      for (const alg of [0, 2, 255]) {
        expect(refusal(patched(1, [alg])).message).toMatch(`unknown signature algorithm ${alg}`);
      }
    });

    it('unknown flags', () => {
      for (const flags of [0x02, 0x80, 0xff]) {
        expect(refusal(patched(2, [flags])).message).toMatch(/unknown flags/);
      }
    });

    it('an unknown rate category', () => {
      for (const code of [0, 8, 255]) {
        expect(refusal(patched(3, [code])).message).toMatch(`unknown rate category ${code}`);
      }
    });

    it('device IDs, software IDs and ZIPs that are not the allowed ASCII', () => {
      expect(refusal(patched(12, 'vpm000000001')).message).toMatch(/device ID/);
      expect(refusal(patched(12, [0xc1])).message).toMatch(/device ID/);
      expect(refusal(patched(12, [0])).message).toMatch(/device ID/);
      expect(refusal(patched(54, 'sb-1')).message).toMatch(/software ID/);
      expect(refusal(patched(40, '2026A')).message).toMatch(/origin ZIP/);
      expect(refusal(patched(40, [0xb2])).message).toMatch(/origin ZIP/);
      expect(refusal(patched(45, '9450A    ')).message).toMatch(/destination ZIP/);
    });

    it('a destination ZIP that is not padded canonically', () => {
      for (const text of ['94501 330', ' 94501   ', '94501\0\0\0\0', '9450     ', '945013   ']) {
        expect(refusal(patched(45, text)).message).toMatch(/destination ZIP/);
      }
    });

    it('registers above 2^53 - 1', () => {
      expect(refusal(patched(24, [0, 0x20, 0, 0, 0, 0, 0, 0])).message).toMatch(/register/);
      expect(refusal(patched(58, [0xff])).message).toMatch(/register/);
    });

    it('zero postage', () => {
      expect(refusal(patched(32, [0, 0, 0, 0])).message).toMatch(/postage/);
    });

    it('dates that are not calendar dates', () => {
      for (const date of [0, 20261301, 20260230, 20261100, 20261132, 99999999]) {
        const bytes = validBytes();
        new DataView(bytes.buffer).setUint32(36, date);
        expect(refusal(bytes).message).toMatch(/mailing date/);
      }
    });
  });

  describe('encodePayload() refuses fields it cannot encode', () => {
    const bad: Array<[string, Partial<IndiciumFields>, RegExp]> = [
      ['a short serial', { certificateSerial: 'a1' }, /certificate serial/],
      ['an upper-case serial', { certificateSerial: '00000000000000A1' }, /certificate serial/],
      ['a lower-case device ID', { deviceId: 'vpm000000001' }, /device ID/],
      ['a long software ID', { softwareId: 'SB012' }, /software ID/],
      ['a ZIP+4 origin', { originZip: '202601234' }, /origin ZIP/],
      ['a hyphenated destination', { destinationZip: '94501-3301' }, /destination ZIP/],
      ['an upper-case UUID', { pieceId: sample.pieceId.toUpperCase() }, /mail piece id/],
      ['negative registers', { ascendingCents: -1 }, /ascending register/],
      ['fractional postage', { postageCents: 7.3 }, /postage/],
      ['postage over 32 bits', { postageCents: 2 ** 32 }, /postage/],
      ['a bad date', { mailingDate: '2026-02-29' }, /mailing date/],
      ['a badly written date', { mailingDate: '2026-2-1' }, /mailing date/],
      ['an unknown class', { mailClass: 'express' as never }, /mail class/],
    ];
    for (const [name, patch, message] of bad) {
      it(name, () => {
        expect(() => encodePayload({ ...sample, ...patch })).toThrow(IndiciumFormatError);
        expect(() => encodePayload({ ...sample, ...patch })).toThrow(message);
      });
    }

    it('payloads and signatures of the wrong length in assembleIndicium()', () => {
      const payload = encodePayload(sample);
      expect(() => assembleIndicium(payload.slice(1), new Uint8Array(64))).toThrow(/payload/);
      expect(() => assembleIndicium(payload, new Uint8Array(63))).toThrow(/signature/);
    });
  });
});
