/**
 * @module print/pdfkit-internals
 * The one place that reaches into pdfkit's private objects (pdfkit is pinned exactly, 0.20.2, in
 * package.json): a standard font's metrics (`doc._font`), the current page (`doc.page`), the page
 * tree (`doc._root.data.Pages.data`) and a content stream's reference (PDFReference: `compress`,
 * `buffer`, `data`, `finalize`). The renderer (render.ts, pdf-text.ts) uses them to write pages
 * from templates, release written pages and compress on a thread. checkPdfkitInternals() probes a
 * real document for every shape used here; test/client/print/pdfkit-internals.test.ts fails
 * loudly when an upgrade changes one.
 */
import PDFDocument from 'pdfkit';
import type { StandardFontLike } from './pdf-text';

/** A written object's reference as the page tree holds it (pdfkit's PDFReference). */
export interface Ref {
  id: number;
  gen: number;
  data: object;
}

/** The parts of a pdfkit page that stay reachable from the page tree after it is written. */
export interface FlushedPage {
  dictionary: Ref;
  resources: Ref;
  content: Ref;
  fonts: Record<string, unknown>;
}

/** pdfkit's page tree (`doc._root.data.Pages.data`). */
export interface PageTree {
  Kids: Array<Ref | number>;
}

/** A pdfkit stream object's internals that compression uses (PDFReference). */
export interface StreamRef {
  compress: boolean;
  buffer: Uint8Array[];
  data: { Filter?: string };
  finalize(): void;
}

/** A loaded standard font (its AFM metrics), and the reference a page's resources hold. */
export type LoadedFont = StandardFontLike & { ref(): unknown };

/** Selects a standard font and gives pdfkit's loaded font object (`doc._font`). */
export function standardFont(doc: PDFKit.PDFDocument, name: string): LoadedFont {
  return (doc.font(name) as unknown as { _font: LoadedFont })._font;
}

/** The page pdfkit is drawing on (`doc.page`). */
export function currentPage(doc: PDFKit.PDFDocument): FlushedPage {
  return (doc as unknown as { page: FlushedPage }).page;
}

/** pdfkit's page tree. */
export function pageTree(doc: PDFKit.PDFDocument): PageTree {
  return (doc as unknown as { _root: { data: { Pages: { data: PageTree } } } })._root.data.Pages
    .data;
}

/** The page's content stream as a StreamRef, or undefined if its internals are not as expected. */
export function contentStream(page: { content: object }): StreamRef | undefined {
  const content = page.content as unknown as Partial<StreamRef>;
  if (content.compress !== true || !Array.isArray(content.buffer)) return undefined;
  if (typeof content.finalize !== 'function' || typeof content.data !== 'object') return undefined;
  return content as StreamRef;
}

/**
 * Every private shape this module relies on, checked on a real, compressed pdfkit document:
 * the problems found (none when pdfkit is what the renderer expects).
 */
export function checkPdfkitInternals(): string[] {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => void (ok || problems.push(what));
  const doc = new PDFDocument({ autoFirstPage: false, margin: 0, compress: true });
  try {
    doc.addPage({ size: [612, 792], margin: 0 });
    const font = standardFont(doc, 'Helvetica');
    expect(typeof font === 'object' && font !== null, 'doc._font: no font object after doc.font()');
    if (font) {
      expect(typeof font.id === 'string', 'doc._font.id: not a string');
      expect(typeof font.ascender === 'number', 'doc._font.ascender: not a number');
      expect(typeof font.ref === 'function', 'doc._font.ref(): not a function');
      for (const method of ['encodeText', 'glyphsForString', 'widthOfGlyph', 'getKernPair'])
        expect(
          typeof (font.font as unknown as Record<string, unknown>)?.[method] === 'function',
          `doc._font.font.${method}(): not a function`,
        );
      if (typeof font.font?.widthOfGlyph === 'function')
        expect(
          font.font.widthOfGlyph('A') === 667,
          'doc._font.font: Helvetica "A" is not 667 wide',
        );
    }
    const page = currentPage(doc);
    expect(typeof page === 'object' && page !== null, 'doc.page: no page after addPage()');
    for (const part of ['dictionary', 'resources', 'content'] as const) {
      const ref = page?.[part];
      expect(
        typeof ref?.id === 'number' && typeof ref.gen === 'number' && typeof ref.data === 'object',
        `doc.page.${part}: not a PDFReference ({ id, gen, data })`,
      );
    }
    expect(typeof page?.fonts === 'object' && page.fonts !== null, 'doc.page.fonts: not an object');
    expect(
      page !== undefined && contentStream(page) !== undefined,
      'doc.page.content: not a compressed stream reference',
    );
    let kids: unknown;
    try {
      kids = pageTree(doc).Kids;
    } catch {
      kids = undefined;
    }
    expect(
      Array.isArray(kids) && kids.length === 1 && kids[0] === page?.dictionary,
      'doc._root.data.Pages.data.Kids: not the page dictionaries',
    );
  } finally {
    doc.end();
  }
  return problems;
}
