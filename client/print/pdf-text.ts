/**
 * @module print/pdf-text
 * A text line of the PDF written straight into content-stream bytes, for the lines that differ on
 * every piece (the recipient's): the same operators pdfkit writes for `doc.text(text, x, y,
 * { lineBreak: false })` in a standard font (its AFM widths and kerning, its number format), from
 * per-character tables built once, without pdfkit's layout machinery per line. Widths are summed
 * in the same order as pdfkit's, so fitted sizes are the same to the last bit.
 */

/** What this uses of a pdfkit standard font (`doc._font` after `doc.font(name)`). */
export interface StandardFontLike {
  id: string;
  ascender: number;
  font: {
    encodeText(text: string): string[];
    glyphsForString(text: string): string[];
    widthOfGlyph(glyph: string): number;
    getKernPair(left: string, right: string): number;
  };
}

/** pdfkit's number format (PDFObject.number): at most 6 decimals, as JavaScript prints them. */
function pdfNumber(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

interface Glyph {
  hex: string;
  name: string;
  width: number;
}

/** One font's glyphs and kerning, looked up once per character code and pair. */
export class FastFont {
  private readonly glyphs = new Map<number, Glyph>();
  private readonly kerning = new Map<number, number>();

  constructor(readonly font: StandardFontLike) {}

  private glyph(code: number): Glyph {
    let g = this.glyphs.get(code);
    if (!g) {
      const char = String.fromCharCode(code);
      const name = this.font.font.glyphsForString(char)[0] as string;
      g = {
        hex: this.font.font.encodeText(char)[0] as string,
        name,
        width: this.font.font.widthOfGlyph(name),
      };
      this.glyphs.set(code, g);
    }
    return g;
  }

  private kern(left: number, right: number): number {
    const key = left * 65536 + right;
    let k = this.kerning.get(key);
    if (k === undefined) {
      k = this.font.font.getKernPair(this.glyph(left).name, this.glyph(right).name);
      this.kerning.set(key, k);
    }
    return k;
  }

  /** The advance of each character (width plus kerning with the next), in 1/1000 em. */
  private advances(text: string): { glyphs: Glyph[]; kerns: number[] } {
    const glyphs: Glyph[] = [];
    const kerns: number[] = [];
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      glyphs.push(this.glyph(code));
      kerns.push(i + 1 < text.length ? this.kern(code, text.charCodeAt(i + 1)) : 0);
    }
    return { glyphs, kerns };
  }

  /** The sum of the characters' advances in 1/1000 em, added in pdfkit's order. */
  advanceWidth(text: string): number {
    let width = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      width +=
        this.glyph(code).width +
        (i + 1 < text.length ? this.kern(code, text.charCodeAt(i + 1)) : 0);
    }
    return width;
  }

  /**
   * pdfkit's `doc.widthOfString(text)` at `size`, with its arithmetic (no character spacing, 100%
   * horizontal scaling), so a fitted size is the one pdfkit finds. `advance`: advanceWidth(text),
   * when known.
   */
  widthOfString(text: string, size: number, advance = this.advanceWidth(text)): number {
    return ((advance * (size / 1000) + 0 * (text.length - 1)) * 100) / 100;
  }

  /**
   * What pdfkit writes for the line with the page's y axis already flipped (its `_fragment` inside
   * `save()`/`restore()`): `q`, the flip back, and the text object, one operator a line.
   */
  lineBytes(text: string, x: number, y: number, size: number, pageHeight: number): string {
    const { glyphs, kerns } = this.advances(text);
    const dy = (this.font.ascender / 1000) * size;
    const commands: string[] = [];
    let hex = '';
    for (let i = 0; i < glyphs.length; i++) {
      hex += (glyphs[i] as Glyph).hex;
      const kern = kerns[i] as number;
      if (kern !== 0 || i === glyphs.length - 1) {
        commands.push(`<${hex}> ${pdfNumber(-kern)}`);
        hex = '';
      }
    }
    return (
      `q\n1 0 0 -1 0 ${pdfNumber(pageHeight)} cm\nBT\n` +
      `1 0 0 1 ${pdfNumber(x)} ${pdfNumber(pageHeight - y - dy)} Tm\n` +
      `/${this.font.id} ${pdfNumber(size)} Tf\n[${commands.join(' ')}] TJ\nET\nQ\n`
    );
  }
}
