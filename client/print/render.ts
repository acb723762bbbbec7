/**
 * @module print/render
 * The local print driver's renderer: a batch of pieces becomes ONE PDF, one piece per page (or
 * per label position on a sheet), at the exact size of the medium. The Data Matrix is vector
 * rectangles; the human-readable values come from the decoded indicium, never from the caller,
 * so the print cannot say something the signed data does not. Pages are written to the output
 * stream as they are made and the producer waits for the stream to drain, so memory stays flat
 * however long the batch is.
 */
import { once } from 'node:events';
import { deflateSync } from 'node:zlib';
import type { Writable } from 'node:stream';
import PDFDocument from 'pdfkit';
import type { IndiciumFields } from '../../shared/indicium/codec';
import { formatDollars } from '../../shared/money';
import { MODULE_PT, dataMatrixModules, symbolPathBytes, type ModuleMatrix } from './datamatrix';
import { PrintError } from './errors';
import type { Box } from './layout';
import { mediumById, type Medium, type MediumId } from './media';
import {
  BOLD,
  REGULAR,
  checkCalibration,
  decodePiece,
  planPiece,
  type FontName,
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

/** A number as PDF content writes it: fixed point, at most 3 decimals. */
function pdfNumber(n: number): string {
  return String(Math.round(n * 1000) / 1000);
}

/**
 * What a batch's text lines cost once: most lines repeat on every piece (the human-readable
 * block, the return address), at the same place. `fits` holds the font size that makes a line
 * fit its width; `stamps` the content pdfkit wrote for a line (font, size, position, text), which
 * is the same every time, so a repeat is written as those bytes instead of laid out again.
 */
class TextCache {
  readonly fits = new Map<string, number>();
  readonly stamps = new Map<string, Buffer>();
  /** Fonts pdfkit has put in the current page's resources (it does so when it draws text). */
  readonly fontsOnPage = new Set<string>();
}
const TEXT_CACHE_LIMIT = 4096;

function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= TEXT_CACHE_LIMIT) map.clear(); // recipients rarely repeat
  map.set(key, value);
}

function fittedSize(
  doc: PDFKit.PDFDocument,
  cache: TextCache,
  text: string,
  width: number,
  font: FontName,
  size: number,
): number {
  const key = `${font}\0${size}\0${width}\0${text}`;
  let s = cache.fits.get(key);
  if (s === undefined) {
    s = size;
    doc.font(font).fontSize(s);
    while (s > 4 && doc.widthOfString(text) > width) {
      s -= 0.5;
      doc.fontSize(s);
    }
    remember(cache.fits, key, s);
  }
  return s;
}

/** Draws a line with pdfkit, or writes what pdfkit wrote for the same line before. */
function drawText(
  doc: PDFKit.PDFDocument,
  cache: TextCache,
  text: string,
  x: number,
  y: number,
  font: string,
  size: number,
): void {
  const key = `${font}\0${size}\0${x}\0${y}\0${text}`;
  const stamp = cache.fontsOnPage.has(font) ? cache.stamps.get(key) : undefined;
  if (stamp) {
    doc.addContent(stamp);
    return;
  }
  const written: unknown[] = [];
  const addContent = doc.addContent;
  doc.addContent = (data: unknown) => {
    written.push(data);
    return addContent.call(doc, data);
  };
  try {
    doc.font(font).fontSize(size);
    doc.text(text, x, y, { lineBreak: false });
  } finally {
    doc.addContent = addContent;
  }
  cache.fontsOnPage.add(font);
  if (written.every((w): w is string => typeof w === 'string')) {
    remember(cache.stamps, key, Buffer.from(written.map((w) => `${w}\n`).join(''), 'latin1'));
  }
}

function drawSymbol(doc: PDFKit.PDFDocument, matrix: ModuleMatrix, box: Box): void {
  // One path of the dark runs in module units, scaled to size by the matrix, filled once, so
  // adjacent rows show no seams when rasterized. Written as raw operators in one piece: pdfkit's
  // rect() costs a call, a number format and a buffer per rectangle, 600 times a symbol.
  doc.addContent(
    symbolPathBytes(
      matrix,
      `q 0 g ${MODULE_PT} 0 0 ${MODULE_PT} ${pdfNumber(box.x)} ${pdfNumber(box.y)} cm\n`,
      'f Q\n',
    ),
  );
}

/** Text measured with pdfkit's own font metrics, fitted sizes remembered for the batch. */
function pdfMeasure(doc: PDFKit.PDFDocument, cache: TextCache): TextMeasure {
  return {
    fit: (text, width, font, size) => fittedSize(doc, cache, text, width, font, size),
    width: (text, font, size) => doc.font(font).fontSize(size).widthOfString(text),
  };
}

/**
 * The PDF's text measure for another output of the same plan (the HTML print): the same fitting
 * on the same font metrics, from a pdfkit document that is never written.
 */
export function pdfTextMeasure(): TextMeasure {
  return pdfMeasure(new PDFDocument({ autoFirstPage: false }), new TextCache());
}

function drawPiece(
  doc: PDFKit.PDFDocument,
  medium: Medium,
  slotIndex: number,
  piece: PrintPiece,
  fields: IndiciumFields,
  returnAddress: Address | undefined,
  calibration: Calibration,
  fits: TextCache,
): void {
  const plan = planPiece(
    medium,
    slotIndex,
    fields,
    piece,
    returnAddress,
    calibration,
    pdfMeasure(doc, fits),
  );
  doc.save();
  doc.translate(plan.origin.x, plan.origin.y);
  doc.fillColor('black');
  for (const mark of plan.marks) {
    switch (mark.kind) {
      case 'symbol':
        drawSymbol(doc, piece.symbol ?? dataMatrixModules(piece.indicium), mark.box);
        break;
      case 'text':
        drawText(doc, fits, mark.text, mark.x, mark.y, mark.font, mark.size);
        break;
      case 'frame': {
        const b = mark.box;
        doc.lineWidth(mark.lineWidth).rect(b.x, b.y, b.width, b.height).stroke('black');
        break;
      }
      default:
        throw new Error(`render: unknown mark ${String(mark satisfies never as unknown)}`);
    }
  }
  doc.restore();
}

/** The parts of a pdfkit page that stay reachable from the page tree after it is written. */
interface FlushedPage {
  dictionary: { data: object };
  resources: { data: object };
  content: { data: object };
}

/**
 * pdfkit keeps every written page's dictionaries (about 3.5 KB a page) because the page tree
 * refers to them; only their object numbers are needed once written. Dropping the data keeps a
 * 10,000-piece batch's memory flat. Safe because addPage() has written the previous page.
 */
function release(page: FlushedPage): void {
  page.content.data = {};
  page.resources.data = {};
  page.dictionary.data = {};
}

/** A pdfkit stream object's internals that compression uses (PDFReference). */
interface StreamRef {
  compress: boolean;
  buffer: Uint8Array[];
  data: { Filter?: string };
  finalize(): void;
}

/**
 * Compresses the page's content stream at zlib level 1 when pdfkit writes it, instead of
 * pdfkit's default level 6: a third of the time (a page is some 8 KB of path and text operators,
 * 0.2 ms to deflate at level 6) for pages about 15% larger (2.7 KB). Leaves pdfkit's own
 * compression in place if its internals are not what this expects.
 */
function fastDeflate(page: FlushedPage): void {
  const content = page.content as unknown as Partial<StreamRef>;
  if (content.compress !== true || !Array.isArray(content.buffer)) return;
  if (typeof content.finalize !== 'function' || typeof content.data !== 'object') return;
  const stream = content as StreamRef;
  const finalize = stream.finalize.bind(stream);
  stream.compress = false;
  stream.finalize = () => {
    if (stream.buffer.length > 0) {
      stream.buffer = [deflateSync(Buffer.concat(stream.buffer), { level: 1 })];
      stream.data.Filter = 'FlateDecode';
    }
    finalize();
  };
}

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
  const doc = new PDFDocument({
    autoFirstPage: false,
    margin: 0,
    compress: true,
    info: { Title: opts.title ?? `Postage, ${medium.label}`, Producer: 'vpm print driver' },
  });
  // The fonts' metrics load while the first pieces are still being bought, and so does ICU's
  // number formatting (formatDollars' first call, some 70 ms, else paid when the batch's summary
  // is printed).
  setImmediate(() => {
    doc.font(BOLD).font(REGULAR);
    formatDollars(0);
  });
  let failed: Error | undefined;
  const onError = (error: Error): void => {
    failed ??= error;
  };
  out.on('error', onError);
  doc.on('error', onError);
  // The document stays in paused mode and is drained by hand after every page: in flowing mode
  // its chunks would wait for a process.nextTick that a tight loop of awaits never lets run.
  // Written two or three pages at a time (a page is some 3 KB): one write call per page costs more than
  // drawing the text of it.
  // `written`: the pieces on the pages pdfkit has finished (all before the page being drawn);
  // reported when the output has taken the last of their bytes (a write's callback), so progress
  // never runs ahead of a slow printer or disk.
  const progress = opts.onProgress;
  const pump = async (written: number): Promise<void> => {
    if (doc.readableLength < WRITE_BYTES) return;
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

  const fits = new TextCache();
  let count = 0;
  let pages = 0;
  let slot = medium.slots.length;
  try {
    for await (const piece of asAsync(pieces)) {
      if (failed) break;
      const fields = decodePiece(piece, count);
      if (slot >= medium.slots.length) {
        const previous = pages > 0 ? (doc as unknown as { page: FlushedPage }).page : undefined;
        doc.addPage({ size: [medium.width, medium.height], margin: 0 });
        if (previous) release(previous);
        fits.fontsOnPage.clear();
        fastDeflate((doc as unknown as { page: FlushedPage }).page);
        pages += 1;
        slot = 0;
        await pump(count); // the previous page has just been written
      }
      drawPiece(doc, medium, slot, piece, fields, opts.returnAddress, calibration, fits);
      slot += 1;
      count += 1;
    }
    if (count === 0 && !failed) {
      throw new PrintError('PRINT_NO_PIECES', 'print: the batch has no pieces; add at least one');
    }
  } catch (error) {
    doc.end();
    out.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  const ended = once(doc, 'end');
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
  await ended;
  if (failed) throw failed;
  const finished = once(out, 'finish');
  out.end();
  await finished;
  out.off('error', onError);
  if (failed) throw failed;
  progress?.(count);
  return { pages, pieces: count };
}
