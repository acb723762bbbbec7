import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  MAX_CENTS,
  MoneyError,
  formatDecimal,
  formatDollars,
  parseDollars,
} from '../../shared/money';

describe('money', () => {
  describe('parseDollars()', () => {
    it.each([
      ['12.34', 1234],
      ['0.73', 73],
      ['$0.73', 73],
      ['12', 1200],
      ['12.3', 1230],
      [' 5.00 ', 500],
      ['1,000.00', 100000],
    ])('reads %j as %d cents', (text, cents) => {
      expect(parseDollars(text)).toBe(cents);
    });

    it.each([
      '0.001',
      '-1',
      '1e9',
      'abc',
      '',
      '.5',
      '12.',
      '1.2.3',
      'NaN',
      'Infinity',
      '10000000.00',
    ])('refuses %j with a clear error', (text) => {
      expect(() => parseDollars(text)).toThrow(MoneyError);
    });

    it('round-trips every amount in range through formatDecimal', () => {
      fc.assert(
        fc.property(fc.integer({ min: 0, max: MAX_CENTS }), (cents) => {
          expect(parseDollars(formatDecimal(cents))).toBe(cents);
        }),
      );
    });
  });

  describe('formatDollars()', () => {
    it('shows dollars and cents with grouping', () => {
      expect(formatDollars(123456)).toBe('$1,234.56');
      expect(formatDollars(5)).toBe('$0.05');
      expect(formatDollars(-250)).toBe('-$2.50');
    });
  });
});

describe('formatDollars without ICU', () => {
  it('groups thousands exactly as en-US number formatting does', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -Number.MAX_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
        (cents) => {
          const abs = Math.abs(cents);
          const expected = `${cents < 0 ? '-' : ''}$${Math.floor(abs / 100).toLocaleString('en-US')}.${String(abs % 100).padStart(2, '0')}`;
          expect(formatDollars(cents)).toBe(expected);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
