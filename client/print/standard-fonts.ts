/**
 * @module print/standard-fonts
 * Helvetica and Helvetica-Bold as the renderer measures and encodes them: the AFM metrics (glyph
 * widths and kerning pairs) from pdfkit's font data modules (`pdfkit/standard-fonts/*`, data
 * only, so a batch never loads pdfkit itself: its fontkit, brotli and AES tables), read with
 * pdfkit's rules (WinAnsi codes, glyph names, widths and kerning by name). The fonts are PDF
 * standard fonts: referenced by name, never embedded. test/client/print/pdf-text.test.ts checks
 * every code and kerning pair against pdfkit's own font objects.
 */
import HELVETICA from 'pdfkit/standard-fonts/Helvetica';
import HELVETICA_BOLD from 'pdfkit/standard-fonts/HelveticaBold';
import type { StandardFontData } from 'pdfkit/standard-fonts/Helvetica';
import type { StandardFontLike } from './pdf-text';

/** The characters outside Latin-1 that WinAnsiEncoding places in 128–159 (pdfkit's map). */
const WIN_ANSI: Record<number, number> = {
  402: 131,
  8211: 150,
  8212: 151,
  8216: 145,
  8217: 146,
  8218: 130,
  8220: 147,
  8221: 148,
  8222: 132,
  8224: 134,
  8225: 135,
  8226: 149,
  8230: 133,
  8364: 128,
  8240: 137,
  8249: 139,
  8250: 155,
  710: 136,
  8482: 153,
  338: 140,
  339: 156,
  732: 152,
  352: 138,
  353: 154,
  376: 159,
  381: 142,
  382: 158,
};

/** The glyph name of each WinAnsi code from 32 (0–31 have none). */
const WIN_ANSI_GLYPHS = `
  space exclam quotedbl numbersign dollar percent ampersand quotesingle parenleft parenright
  asterisk plus comma hyphen period slash zero one two three four five six seven eight nine colon
  semicolon less equal greater question at A B C D E F G H I J K L M N O P Q R S T U V W X Y Z
  bracketleft backslash bracketright asciicircum underscore grave a b c d e f g h i j k l m n o p
  q r s t u v w x y z braceleft bar braceright asciitilde .notdef Euro .notdef quotesinglbase
  florin quotedblbase ellipsis dagger daggerdbl circumflex perthousand Scaron guilsinglleft OE
  .notdef Zcaron .notdef .notdef quoteleft quoteright quotedblleft quotedblright bullet endash
  emdash tilde trademark scaron guilsinglright oe .notdef zcaron ydieresis space exclamdown cent
  sterling currency yen brokenbar section dieresis copyright ordfeminine guillemotleft logicalnot
  hyphen registered macron degree plusminus twosuperior threesuperior acute mu paragraph
  periodcentered cedilla onesuperior ordmasculine guillemotright onequarter onehalf threequarters
  questiondown Agrave Aacute Acircumflex Atilde Adieresis Aring AE Ccedilla Egrave Eacute
  Ecircumflex Edieresis Igrave Iacute Icircumflex Idieresis Eth Ntilde Ograve Oacute Ocircumflex
  Otilde Odieresis multiply Oslash Ugrave Uacute Ucircumflex Udieresis Yacute Thorn germandbls
  agrave aacute acircumflex atilde adieresis aring ae ccedilla egrave eacute ecircumflex
  edieresis igrave iacute icircumflex idieresis eth ntilde ograve oacute ocircumflex otilde
  odieresis divide oslash ugrave uacute ucircumflex udieresis yacute thorn ydieresis`
  .trim()
  .split(/\s+/);

const glyphOfCode = (code: number): string =>
  (code >= 32 ? WIN_ANSI_GLYPHS[code - 32] : undefined) ?? '.notdef';

/** A standard font's metrics, read as pdfkit's AFMFont reads them. */
class AfmMetrics {
  private readonly widths = new Map<string, number>();
  private readonly kerning = new Map<string, number>();

  constructor(data: StandardFontData) {
    const names = data.glyphNames.split(' ');
    names.forEach((name, i) => this.widths.set(name, data.glyphWidths[i] as number));
    for (let i = 0; i < data.kernPairs.length; i += 2) {
      const amount = data.kernPairs[i] as number;
      let pair = 0;
      for (const delta of data.kernPairs[i + 1] as number[]) {
        pair += delta;
        const left = names[Math.floor(pair / names.length)] as string;
        this.kerning.set(`${left}\0${names[pair % names.length] as string}`, amount);
      }
    }
  }

  encodeText(text: string): string[] {
    const codes: string[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      codes.push((WIN_ANSI[c] || c).toString(16));
    }
    return codes;
  }

  glyphsForString(text: string): string[] {
    const glyphs: string[] = [];
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      glyphs.push(glyphOfCode(WIN_ANSI[c] || c));
    }
    return glyphs;
  }

  widthOfGlyph(glyph: string): number {
    return this.widths.get(glyph) || 0;
  }

  getKernPair(left: string, right: string): number {
    return this.kerning.get(`${left}\0${right}`) || 0;
  }
}

export const STANDARD_FONTS = { Helvetica: HELVETICA, 'Helvetica-Bold': HELVETICA_BOLD } as const;
export type StandardFontName = keyof typeof STANDARD_FONTS;

/** A standard font as the renderer uses it, under the resource name `id` (F1, F2…). */
export function standardFont(name: StandardFontName, id: string): StandardFontLike {
  const data = STANDARD_FONTS[name];
  return { id, ascender: data.ascender, font: new AfmMetrics(data) };
}
