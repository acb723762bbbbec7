/**
 * Tests of client/print/pdf-text.ts: a recipient's line written from the font tables is the line
 * pdfkit writes, byte for byte (kerning, accents, odd positions and sizes), and its width is
 * pdfkit's to the last bit, so fitted sizes cannot differ.
 */
import PDFDocument from 'pdfkit';
import { describe, expect, it } from 'vitest';
import { FastFont, type StandardFontLike } from '../../../client/print/pdf-text';

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
  const fontOf = (name: string) =>
    new FastFont((doc.font(name) as unknown as { _font: StandardFontLike })._font);

  it('writes a line as pdfkit does, byte for byte', () => {
    for (const name of ['Helvetica', 'Helvetica-Bold']) {
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
    for (const name of ['Helvetica', 'Helvetica-Bold']) {
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
});
