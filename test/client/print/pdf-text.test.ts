/**
 * Tests of client/print/pdf-text.ts and standard-fonts.ts: a line written from the font tables
 * (read from pdfkit's font data without pdfkit) is the line pdfkit writes, byte for byte
 * (kerning, accents, odd positions and sizes), its width is pdfkit's to the last bit, so fitted
 * sizes cannot differ, and every character code, glyph width and kerning pair is pdfkit's.
 */
import PDFDocument from 'pdfkit';
import { describe, expect, it } from 'vitest';
import { FastFont, type StandardFontLike } from '../../../client/print/pdf-text';
import { standardFont, type StandardFontName } from '../../../client/print/standard-fonts';

const LINES = [
  'ADA LOVELACE',
  'AVENUE OF THE AMERICAS, WAY TO YVES',
  "L'ÉCOLE DU PÈRE NOËL — ÅRHUS ØST",
  'P.O. BOX 7, TAWA VAT, LT. WAY',
  'x',
  '1234 FAWN AVE APT 5-B / "Q"',
];

function pdfkitLine(
  doc: PDFKit.PDFDocument,
  text: string,
  x: number,
  y: number,
  font: string,
  size: number,
): string {
  const written: string[] = [];
  const addContent = doc.addContent;
  doc.addContent = (data: unknown) => {
    written.push(`${String(data)}\n`);
    return doc;
  };
  try {
    doc.font(font).fontSize(size);
    doc.text(text, x, y, { lineBreak: false });
  } finally {
    doc.addContent = addContent;
  }
  return written.join('');
}

describe('FastFont', () => {
  const doc = new PDFDocument({ autoFirstPage: false, margin: 0 });
  doc.addPage({ size: [684, 297], margin: 0 });
  const pdfkitFont = (name: string) =>
    (doc.font(name) as unknown as { _font: StandardFontLike })._font;
  // The renderer's font, under the resource name pdfkit gave the same font in this document.
  const fontOf = (name: StandardFontName) => new FastFont(standardFont(name, pdfkitFont(name).id));

  it('writes a line as pdfkit does, byte for byte', () => {
    for (const name of ['Helvetica', 'Helvetica-Bold'] as const) {
      const fast = fontOf(name);
      for (const [i, text] of LINES.entries()) {
        for (const size of [11, 10.5, 7, 4.5]) {
          const x = 259.92 + i / 3;
          const y = 140.123456789 + i * size * 1.2;
          expect(fast.lineBytes(text, x, y, size, 297), `${name} ${size} ${text}`).toBe(
            pdfkitLine(doc, text, x, y, name, size),
          );
        }
      }
    }
  });

  it('measures a line exactly as pdfkit does', () => {
    for (const name of ['Helvetica', 'Helvetica-Bold'] as const) {
      const fast = fontOf(name);
      for (const text of LINES) {
        for (let size = 11; size > 4; size -= 0.5) {
          expect(fast.widthOfString(text, size)).toBe(
            doc.font(name).fontSize(size).widthOfString(text),
          );
        }
      }
    }
  });

  it('reads every character code, glyph width and kerning pair as pdfkit does, without pdfkit', () => {
    const codes = [...Array.from({ length: 0x180 }, (_, i) => i), 0x2014, 0x2019, 0x20ac, 0x2122];
    const text = String.fromCharCode(...codes);
    for (const name of ['Helvetica', 'Helvetica-Bold'] as const) {
      const theirs = pdfkitFont(name);
      const ours = standardFont(name, 'F9');
      expect(ours.ascender).toBe(theirs.ascender);
      expect(ours.font.encodeText(text)).toEqual(theirs.font.encodeText(text));
      const glyphs = theirs.font.glyphsForString(text);
      expect(ours.font.glyphsForString(text)).toEqual(glyphs);
      const names = [...new Set(glyphs)];
      const widths = (f: StandardFontLike) => names.map((g) => f.font.widthOfGlyph(g));
      expect(widths(ours)).toEqual(widths(theirs));
      const kerning = (f: StandardFontLike) =>
        names.flatMap((l) => names.map((r) => f.font.getKernPair(l, r)));
      const pairs = kerning(theirs);
      expect(kerning(ours)).toEqual(pairs);
      const kerned = pairs.filter((k) => k !== 0).length;
      expect(kerned).toBeGreaterThan(100); // the table was read, not zero everywhere
    }
  });
});
