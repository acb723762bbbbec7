/**
 * The one address check of the app, the services, `vpm print` and batch rows: what the label
 * font (Helvetica, WinAnsi, printed in capitals) cannot draw is refused, and so is every
 * control and bidirectional control character, each with a message naming it.
 */
import { describe, expect, it } from 'vitest';
import { addressProblems, addressTextProblem, isPrintableChar } from '../../shared/address-text';

describe('addressTextProblem()', () => {
  it('accepts ASCII, Latin-1 letters and the WinAnsi punctuation', () => {
    for (const text of [
      '1 Main St',
      'José Müller-Ñúñez',
      'Rue de l’Église',
      'Œuvre “Quote” – €5',
      'ÿ',
    ])
      expect(addressTextProblem(text, 'street'), text).toBeNull();
  });

  it('refuses every bidirectional control, naming it', () => {
    const bidi = [0x202a, 0x202b, 0x202c, 0x202d, 0x202e, 0x2066, 0x2067, 0x2068, 0x2069];
    for (const code of [...bidi, 0x200e, 0x200f, 0x061c]) {
      const ch = String.fromCodePoint(code);
      const hex = code.toString(16).toUpperCase().padStart(4, '0');
      expect(addressTextProblem(`1 Main${ch} St`, 'street')).toMatch(
        new RegExp(`text-direction control \\(U\\+${hex}\\)`),
      );
    }
  });

  it('refuses control, separator and invisible characters', () => {
    for (const ch of [
      '\u0000',
      '\u0007',
      '\t',
      '\n',
      '\r',
      '\u007f',
      '\u0085',
      '\u009b',
      '\u2028',
      '\u200b',
      '\ufeff',
    ])
      expect(addressTextProblem(`Ann${ch}Lee`, 'name'), JSON.stringify(ch)).toMatch(
        /control or invisible character/,
      );
  });

  it('refuses what the font cannot draw, also when only its capital is outside the font', () => {
    expect(addressTextProblem('李小龙', 'name')).toMatch(/"李" \(U\+674E\) cannot be printed/);
    expect(addressTextProblem('Москва', 'city')).toMatch(/U\+041C/);
    expect(addressTextProblem('Ann 🙂', 'name')).toMatch(/U\+1F642/);
    // µ is in Latin-1, but the address prints in capitals and its capital is Greek Μ.
    expect(isPrintableChar('µ')).toBe(true);
    expect(addressTextProblem('5 µ Rd', 'street')).toMatch(/"µ"/);
  });
});

describe('addressProblems()', () => {
  it('names each bad field of an address', () => {
    expect(
      addressProblems({
        name: 'Ann\u202ELee',
        street: '1 Main St',
        city: '東京',
        zip: '62701',
      }).map((p) => p.field),
    ).toEqual(['name', 'city']);
  });
});
