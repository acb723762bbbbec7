/**
 * @module print/render
 * The local print driver's renderer: a batch of pieces becomes ONE PDF, one piece per page (or
 * per label position on a sheet), at the exact size of the medium. The Data Matrix is a 1-bit
 * image mask, one sample a module; the human-readable values come from the decoded indicium,
 * never from the caller, so the print cannot say something the signed data does not. Pages are
 * written to the output stream as they are made and the producer waits for the stream to drain,
 * so memory stays flat however long the batch is.
 */
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import PDFDocument from 'pdfkit';
import type { IndiciumFields } from '../../shared/indicium/codec';
import { formatDollars } from '../../shared/money';
import { dataMatrixModules, symbolImageBytes, type ModuleMatrix } from './datamatrix';
import { PrintError } from './errors';
import type { Box } from './layout';
import { checkDpi } from './label';
import { mediumById, type Medium, type MediumId } from './media';
import { PageDeflater } from './page-deflate';
import { FastFont } from './pdf-text';
import {
  contentStream,
  currentPage,
  pageTree,
  standardFont,
  type FlushedPage,
  type LoadedFont,
  type Ref,
} from './pdfkit-internals';
import {
  BOLD,
  REGULAR,
  checkCalibration,
  decodePiece,
  planPiece,
  type FontName,
  type PiecePlan,
  type TextMark,
  type TextMeasure,
} from './piece-plan';

export interface Address {
  name: string;
  /** Company or c/o line. */
  company?: string;
  street: string;
  street2?: string;
  city: string;
  /** Two-letter state. */
  state: string;
  /** 5 digits or ZIP+4. */
  zip: string;
}

export interface PrintPiece {
  /** The signed indicium bytes as the data center returned them (146 bytes, version 1). */
  indicium: Uint8Array;
  recipient: Address;
  /** Overrides the batch's return address for this piece. */
  returnAddress?: Address;
  /** The indicium's Data Matrix, when already encoded; else encoded here. */
  symbol?: ModuleMatrix;
  /** The package tracking number the data center assigned (22 digits): labels print its IMpb. */
  tracking?: string;
  /** A letter's 20-digit Intelligent Mail barcode tracking code: envelopes print its IMb. */
  imb?: string;
}

/** Per-printer offsets that move everything on the page, in millimetres (+x right, +y down). */
export interface Calibration {
  xMm: number;
  yMm: number;
}

export interface RenderOptions {
  media: Medium | MediumId;
  calibration?: Calibration;
  returnAddress?: Address;
  /** A thermal printer's resolution (203 or 300): labels are laid out on its dot grid. */
  dpi?: number;
  /** PDF document title. */
  title?: string;
  /**
   * Called with the number of pieces whose pages have been written to the output so far (not
   * drawn or encoded: written), as pages go out and once more when the output is closed.
   */
  onProgress?: (piecesWritten: number) => void;
}

export interface RenderResult {
  pages: number;
  pieces: number;
}

/** Bytes of finished pages collected before they are written to the output. */
const WRITE_BYTES = 6 * 1024;

/** A number as PDF content writes it: fixed point, at most 6 decimals (dot-grid exact). */
function pdfNumber(n: number): string {
  return String(Math.round(n * 1e6) / 1e6);
}

/** Cached values kept for a batch: at most this many, then started again (recipients rarely repeat). */
const CACHE_LIMIT = 4096;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= CACHE_LIMIT) map.clear();
  map.set(key, value);
}

/** Where a template's bytes stop for what differs between pieces. */
const SYMBOL = 0;
const RECIPIENT = 1;
type Segment = Buffer | typeof SYMBOL | typeof RECIPIENT;

/**
 * What a batch prepares once and reuses on every page: the fonts' metrics and, per distinct set of
 * constant marks (the human-readable block, the return address, the SAMPLE marking, the slot and
 * its calibration), the page content pdfkit wrote for them, as bytes with a gap for the symbol and
 * for each of the recipient's lines. A piece then costs its symbol's path and its recipient's
 * lines, written straight into bytes; everything else is copied from the template.
 */
class PageTemplates {
  readonly templates = new Map<string, Segment[]>();
  private fontTable?: Record<FontName, FastFont>;

  constructor(private readonly doc: PDFKit.PDFDocument) {}

  /** Helvetica and Helvetica-Bold, as pdfkit loaded them (their AFM metrics and resource names). */
  fonts(): Record<FontName, FastFont> {
    if (!this.fontTable) {
      const fontOf = (name: FontName) => new FastFont(standardFont(this.doc, name));
      this.fontTable = { [BOLD]: fontOf(BOLD), [REGULAR]: fontOf(REGULAR) };
    }
    return this.fontTable;
  }

  /** Puts the fonts in the page's resources (pdfkit does so when it draws text itself). */
  addFontsTo(page: { fonts: Record<string, unknown> }): void {
    for (const f of Object.values(this.fonts())) {
      const font = f.font as LoadedFont;
      page.fonts[font.id] = font.ref();
    }
  }

  /** Text measured on pdfkit's font metrics (the same sums), fitted sizes remembered. */
  readonly measure: TextMeasure = {
    fit: (text, width, font, size) => {
      const f = this.fonts()[font];
      const advance = f.advanceWidth(text);
      let s = size;
      while (s > 4 && f.widthOfString(text, s, advance) > width) s -= 0.5;
      return s;
    },
    width: (text, font, size) => this.fonts()[font].widthOfString(text, size),
  };

  /** The template of a plan's constant marks, drawn by pdfkit the first time it is seen. */
  templateFor(plan: PiecePlan): Segment[] {
    let key = `${plan.origin.x}\0${plan.origin.y}`;
    for (const mark of plan.marks) {
      switch (mark.kind) {
        case 'symbol':
          key += `\0s${mark.box.x}\0${mark.box.y}`;
          break;
        case 'text':
          key += mark.recipient
            ? '\0r'
            : `\0t${mark.font}\0${mark.size}\0${mark.x}\0${mark.y}\0${mark.text}`;
          break;
        case 'frame':
          key += `\0f${mark.lineWidth}\0${mark.box.x}\0${mark.box.y}\0${mark.box.width}\0${mark.box.height}`;
          break;
        case 'fill':
          // Rules repeat; a barcode's bars (one tracking number a piece) make a template of their own.
          for (const b of mark.boxes) key += `\0b${b.x}\0${b.y}\0${b.width}\0${b.height}`;
          break;
        default:
          throw new Error(`render: unknown mark ${String(mark satisfies never as unknown)}`);
      }
    }
    let template = this.templates.get(key);
    if (!template) {
      template = this.capture(plan);
      remember(this.templates, key, template);
    }
    return template;
  }

  /** Draws the plan's constant marks with pdfkit, keeping what it writes instead of writing it. */
  private capture(plan: PiecePlan): Segment[] {
    const doc = this.doc;
    const segments: Segment[] = [];
    let pending: Buffer[] = [];
    const cut = (gap: typeof SYMBOL | typeof RECIPIENT) => {
      if (pending.length > 0) segments.push(Buffer.concat(pending));
      pending = [];
      segments.push(gap);
    };
    const addContent = doc.addContent;
    doc.addContent = (data: unknown) => {
      // As pdfkit's page.write() turns it into bytes.
      pending.push(
        data instanceof Uint8Array ? Buffer.from(data) : Buffer.from(`${String(data)}\n`, 'latin1'),
      );
      return doc;
    };
    try {
      doc.save();
      doc.translate(plan.origin.x, plan.origin.y);
      doc.fillColor('black');
      for (const mark of plan.marks) {
        switch (mark.kind) {
          case 'symbol':
            cut(SYMBOL);
            break;
          case 'text':
            if (mark.recipient) cut(RECIPIENT);
            else {
              doc.font(mark.font).fontSize(mark.size);
              doc.text(mark.text, mark.x, mark.y, { lineBreak: false });
            }
            break;
          case 'frame': {
            const b = mark.box;
            doc.lineWidth(mark.lineWidth).rect(b.x, b.y, b.width, b.height).stroke('black');
            break;
          }
          case 'fill':
            for (const b of mark.boxes) doc.rect(b.x, b.y, b.width, b.height);
            doc.fill('black');
            break;
          default:
            throw new Error(`render: unknown mark ${String(mark satisfies never as unknown)}`);
        }
      }
      doc.restore();
    } finally {
      doc.addContent = addContent;
    }
    if (pending.length > 0) segments.push(Buffer.concat(pending));
    return segments;
  }
}

function symbolBytes(matrix: ModuleMatrix, box: Box): Buffer {
  // One image sample a module, the unit square scaled to the box (labels for thermal printers
  // use whole printer dots a module) and flipped, as the page's y axis points down; six decimals
  // keep 48 modules on the dot grid.
  return symbolImageBytes(
    matrix,
    `q 0 g ${pdfNumber(box.width)} 0 0 ${pdfNumber(-box.height)} ${pdfNumber(box.x)} ${pdfNumber(box.y + box.height)} cm\n`,
    'Q\n',
  );
}

/** Text measured with pdfkit's own font metrics, fitted sizes remembered for the batch. */
function pdfMeasure(doc: PDFKit.PDFDocument): TextMeasure {
  const fits = new Map<string, number>();
  return {
    fit: (text, width, font, size) => {
      const key = `${font}\0${size}\0${width}\0${text}`;
      let s = fits.get(key);
      if (s === undefined) {
        s = size;
        doc.font(font).fontSize(s);
        while (s > 4 && doc.widthOfString(text) > width) {
          s -= 0.5;
          doc.fontSize(s);
        }
        remember(fits, key, s);
      }
      return s;
    },
    width: (text, font, size) => doc.font(font).fontSize(size).widthOfString(text),
  };
}

/**
 * The PDF's text measure for another output of the same plan (the HTML print): the same fitting
 * on the same font metrics, from a pdfkit document that is never written.
 */
export function pdfTextMeasure(): TextMeasure {
  return pdfMeasure(new PDFDocument({ autoFirstPage: false }));
}

/** Writes one piece into the current page: its template, with its symbol and recipient. */
function drawPiece(
  doc: PDFKit.PDFDocument,
  templates: PageTemplates,
  medium: Medium,
  slotIndex: number,
  piece: PrintPiece,
  fields: IndiciumFields,
  returnAddress: Address | undefined,
  calibration: Calibration,
  dpi: number | undefined,
): void {
  const plan = planPiece(
    medium,
    slotIndex,
    fields,
    piece,
    returnAddress,
    calibration,
    templates.measure,
    dpi,
  );
  const fonts = templates.fonts();
  const recipient: TextMark[] = [];
  let symbolBox: Box | undefined;
  for (const mark of plan.marks) {
    if (mark.kind === 'text' && mark.recipient) recipient.push(mark);
    else if (mark.kind === 'symbol') symbolBox = mark.box;
  }
  let line = 0;
  for (const segment of templates.templateFor(plan)) {
    if (segment === SYMBOL) {
      doc.addContent(
        symbolBytes(piece.symbol ?? dataMatrixModules(piece.indicium), symbolBox as Box),
      );
    } else if (segment === RECIPIENT) {
      const m = recipient[line++] as TextMark;
      doc.addContent(
        Buffer.from(fonts[m.font].lineBytes(m.text, m.x, m.y, m.size, medium.height), 'latin1'),
      );
    } else doc.addContent(segment);
  }
}

/**
 * pdfkit keeps every written page's objects (about 3.5 KB a page) because the page tree refers to
 * them; only their object numbers are needed once written. The page tree keeps the number (put
 * back as a reference when the tree is written) and the objects go, so a batch's memory stays
 * flat in its length. Safe because addPage() has written the previous page.
 */
function release(doc: PDFKit.PDFDocument, page: FlushedPage): void {
  const kids = pageTree(doc).Kids;
  const at = kids.lastIndexOf(page.dictionary);
  if (at >= 0) kids[at] = page.dictionary.id;
  page.content.data = {};
  page.resources.data = {};
  page.dictionary.data = {};
}

/** The page tree's numbers made references again, for pdfkit to write the tree at the end. */
function restoreKids(doc: PDFKit.PDFDocument, sample: Ref | undefined): void {
  if (!sample) return;
  const proto = Object.getPrototypeOf(sample) as object;
  const kids = pageTree(doc).Kids;
  for (let i = 0; i < kids.length; i++) {
    const kid = kids[i] as Ref | number;
    if (typeof kid === 'number') {
      kids[i] = Object.assign(Object.create(proto) as Ref, { id: kid, gen: 0, data: {} });
    }
  }
}

/**
 * Compresses the page's content stream at zlib level 1 when pdfkit writes it, instead of pdfkit's
 * default level 6 (a third of the time for pages about 15% larger), through `deflater`: on a
 * thread of its own once the batch is long, in which case pdfkit writes the stream object when it
 * comes back (pdfkit's document waits for every object before it writes the cross-reference
 * table). `written` is called once the stream is in the document. Leaves pdfkit's own compression
 * in place if its internals are not what this expects.
 */
function fastDeflate(
  page: { content: object },
  deflater: PageDeflater,
  written: () => void,
  onError: (error: Error) => void,
): void {
  const stream = contentStream(page);
  if (!stream) return;
  const finalize = stream.finalize.bind(stream);
  stream.compress = false;
  stream.finalize = () => {
    const write = (out?: Buffer) => {
      if (out) {
        stream.buffer = [out];
        stream.data.Filter = 'FlateDecode';
      }
      finalize();
      written();
    };
    let size = 0;
    for (const b of stream.buffer) size += b.length;
    if (size < STORE_BELOW) {
      delete stream.data.Filter; // set by pdfkit's first write, while compress was still on
      return write(); // as it is: compressing costs more than it saves
    }
    const out = deflater.deflate(Buffer.concat(stream.buffer));
    stream.buffer = [];
    if (Buffer.isBuffer(out)) write(out);
    else out.then(write, onError);
  };
}

/**
 * A page's content shorter than this is written uncompressed: an envelope's page is some 2 KB
 * (the symbol an inline image of 577 bytes), and a zlib call costs some 0.1 ms of setup, more
 * than drawing the page, to save about 1.3 KB.
 */
const STORE_BELOW = 4096;

/** Pages whose content is being compressed at a time, at most (each some 8 KB). */
const PAGES_IN_FLIGHT = 8;

async function* asAsync<T>(items: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  for await (const item of items) yield item;
}

/**
 * Renders a batch into one PDF written to `out` (which it ends), one piece per page or label
 * position. Refuses a piece whose indicium does not decode or whose ZIP is not the indicium's.
 */
export async function renderPieces(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: RenderOptions,
  out: Writable,
): Promise<RenderResult> {
  const medium = typeof opts.media === 'string' ? mediumById(opts.media) : opts.media;
  const calibration = checkCalibration(opts.calibration);
  const dpi = checkDpi(opts.dpi);
  const doc = new PDFDocument({
    autoFirstPage: false,
    margin: 0,
    compress: true,
    info: { Title: opts.title ?? `Postage, ${medium.label}`, Producer: 'vpm print driver' },
  });
  // The fonts' metrics load while the first pieces are still being bought, and so does ICU's
  // number formatting (formatDollars' first call, some 70 ms, else paid when the batch's summary
  // is printed).
  const templates = new PageTemplates(doc);
  setImmediate(() => {
    templates.fonts();
    formatDollars(0);
  });
  let failed: Error | undefined;
  let stop = (): void => undefined;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const onError = (error: Error): void => {
    failed ??= error;
    stop();
  };
  // The pieces whose pages are wholly in the document's output (their content streams written).
  let piecesInDocument = 0;
  out.on('error', onError);
  doc.on('error', onError);
  // The document stays in paused mode and is drained by hand after every page: in flowing mode
  // its chunks would wait for a process.nextTick that a tight loop of awaits never lets run.
  // Written two or three pages at a time (a page is some 3 KB): one write call per page costs more than
  // drawing the text of it.
  // `written`: the pieces whose pages are wholly in the document (their content streams
  // compressed and written); reported when the output has taken the last of their bytes (a
  // write's callback), so progress never runs ahead of a slow printer or disk.
  const progress = opts.onProgress;
  const pump = async (): Promise<void> => {
    if (doc.readableLength < WRITE_BYTES) return;
    const written = piecesInDocument; // every byte read below is of these pieces' pages or earlier
    let last: Buffer | undefined;
    for (let chunk = doc.read() as Buffer | null; chunk !== null; chunk = doc.read()) {
      if (last && !failed) out.write(last);
      last = chunk;
    }
    if (last && !failed) {
      out.write(last, (error) => {
        if (!error && !failed) progress?.(written);
      });
    }
    if (out.writableNeedDrain && !failed) await once(out, 'drain');
  };

  let count = 0;
  let pages = 0;
  let slot = medium.slots.length;
  let page: FlushedPage | undefined;
  const deflater = new PageDeflater();
  try {
    for await (const piece of asAsync(pieces)) {
      if (failed) break;
      const fields = decodePiece(piece, count);
      if (slot >= medium.slots.length) {
        const previous = page;
        doc.addPage({ size: [medium.width, medium.height], margin: 0 });
        if (previous) release(doc, previous);
        page = currentPage(doc);
        templates.addFontsTo(page);
        const through = count + medium.slots.length; // the pieces up to the end of this page
        fastDeflate(page, deflater, () => (piecesInDocument = Math.min(through, count)), onError);
        pages += 1;
        slot = 0;
        await deflater.below(PAGES_IN_FLIGHT);
        await pump(); // the previous page has just been finished
      }
      drawPiece(doc, templates, medium, slot, piece, fields, opts.returnAddress, calibration, dpi);
      slot += 1;
      count += 1;
    }
    if (count === 0 && !failed) {
      throw new PrintError('PRINT_NO_PIECES', 'print: the batch has no pieces; add at least one');
    }
  } catch (error) {
    doc.end();
    out.destroy(error instanceof Error ? error : new Error(String(error)));
    await deflater.close();
    throw error;
  }
  const ended = once(doc, 'end');
  restoreKids(doc, page?.dictionary);
  doc.end();
  // pdfkit ends the file at once, pushing the cross-reference table a line at a time (three lines
  // a page): what is buffered goes out in one write, anything pushed later as it comes.
  const rest: Buffer[] = [];
  for (let chunk = doc.read() as Buffer | null; chunk !== null; chunk = doc.read())
    rest.push(chunk);
  if (!failed && rest.length > 0) out.write(Buffer.concat(rest));
  doc.on('data', (chunk: Buffer) => {
    if (!failed) out.write(chunk);
  });
  await Promise.race([ended, stopped]);
  await deflater.close();
  if (failed) throw failed;
  const finished = once(out, 'finish');
  out.end();
  await finished;
  out.off('error', onError);
  if (failed) throw failed;
  progress?.(count);
  return { pages, pieces: count };
}
