/** Types of pdfkit's standard font data modules (AFM metrics as data), as used here. */
interface PdfkitStandardFontData {
  name: string;
  ascender: number;
  /** Space-separated glyph names, in the order of glyphWidths. */
  glyphNames: string;
  glyphWidths: number[];
  /** Pairs of (amount, deltas): each delta advances a pair id (left × names + right). */
  kernPairs: Array<number | number[]>;
}
declare module 'pdfkit/standard-fonts/Helvetica' {
  export type StandardFontData = PdfkitStandardFontData;
  const font: PdfkitStandardFontData;
  export default font;
}
declare module 'pdfkit/standard-fonts/HelveticaBold' {
  const font: PdfkitStandardFontData;
  export default font;
}
