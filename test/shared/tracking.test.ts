/**
 * Tests of the tracking numbers (shared/tracking.ts): the USPS mod-10 check digit against GS1's
 * published example and real USPS numbers, the Publication 199 structure for 9- and 6-digit
 * Mailer IDs, the Appendix I service type codes, the IMb tracking code of letters, and refusals.
 */
import { describe, expect, it } from 'vitest';
import {
  formatTrackingNumber,
  isImpbTrackingNumber,
  makeTrackingNumber,
  mod10CheckDigit,
} from '../../shared/tracking';

describe('mod10CheckDigit()', () => {
  it('gives the check digit of GS1’s worked example (629104150021 → 3)', () => {
    expect(mod10CheckDigit('629104150021')).toBe('3');
  });
});

describe('makeTrackingNumber()', () => {
  it('makes a 22-digit IMpb number: 94, service type, 9-digit MID, 7-digit serial, check digit', () => {
    const t = makeTrackingNumber('priority', '901234567', 42);
    expect(t).toMatch(/^94055901234567000004\d\d$/);
    expect(t).toHaveLength(22);
    expect(isImpbTrackingNumber(t)).toBe(true);
  });

  it('carries the Appendix I service type code of each package class', () => {
    const stc = (mailClass: string, weightOz?: number) =>
      makeTrackingNumber(mailClass, '901234567', 42, weightOz).slice(2, 5);
    expect(stc('priority')).toBe('055');
    expect(stc('priority-express')).toBe('701');
    expect(stc('media-mail')).toBe('490');
    // USPS Ground Advantage: up to 15.999 oz, and one pound or more.
    expect(stc('ground-advantage', 15.99)).toBe('001');
    expect(stc('ground-advantage', 16)).toBe('346');
    expect(stc('ground-advantage')).toBe('001');
  });

  it('a vendor’s label keeps channel 94 with a 6-digit MID, then a 10-digit serial', () => {
    const t = makeTrackingNumber('priority', '123456', 7);
    expect(t).toMatch(/^940551234560000000007\d$/);
    expect(isImpbTrackingNumber(t)).toBe(true);
  });

  it('checks real USPS tracking numbers as USPS does (vendor labels, Ground Advantage 001 and 346)', () => {
    // Published test numbers of jkeen/tracking_number_data (couriers/usps.json, rebuilt from
    // Publication 199): the check digit this code computes is the one USPS printed.
    for (const real of [
      '9400111206206406260787',
      '9434611206206406227577',
      '9405803699300124287899',
      '9361289878700317633795',
    ])
      expect(isImpbTrackingNumber(real), real).toBe(true);
  });

  it('gives letters a 20-digit IMb tracking code', () => {
    expect(makeTrackingNumber('first-class', '901234567', 5)).toBe('00300901234567000005');
  });

  it('wraps the serial at the digits the MID leaves', () => {
    expect(makeTrackingNumber('priority', '901234567', 10_000_001)).toBe(
      makeTrackingNumber('priority', '901234567', 1),
    );
  });

  it('refuses a bad Mailer ID or serial, and a number with a wrong check digit is not valid', () => {
    expect(() => makeTrackingNumber('priority', '12345', 1)).toThrow(/Mailer ID/);
    expect(() => makeTrackingNumber('priority', '812345678', 1)).toThrow(/Mailer ID/);
    expect(() => makeTrackingNumber('priority', '901234567', -1)).toThrow(/serial/);
    const t = makeTrackingNumber('priority', '901234567', 42);
    const wrong = t.slice(0, -1) + String((Number(t.slice(-1)) + 1) % 10);
    expect(isImpbTrackingNumber(wrong)).toBe(false);
  });

  it('is printed in groups of four', () => {
    expect(formatTrackingNumber('9405590123456700012346')).toBe('9405 5901 2345 6700 0123 46');
  });
});
