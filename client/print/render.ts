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
import { indiciumImageText, symbolImageText, type ModuleMatrix } from './datamatrix';
import { PrintError } from './errors';
import type { Box } from './layout';
import { checkDpi } from './label';
import { mediumById, type Medium, type MediumId } from './media';
import { PageDeflater } from './page-deflate';
import { PdfFile } from './pdf-file';
import { FastFont } from './pdf-text';
import {
  BOLD,
  REGULAR,
  checkCalibration,
  decodePiece,
  planPiece,
  type FontName,
  type Mark,
  type TextMark,
  type TextMeasure,
} from './piece-plan';
import { standardFont } from './standard-fonts';

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
  /**
   * Compress a long batch's pages on a thread of their own (page-deflate.ts); by default only
   * when the machine has a core idle.
   */
  compressOnThread?: boolean;
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

let fontTable: Record<FontName, FastFont> | undefined;
/** Helvetica (F1) and Helvetica-Bold (F2): their metrics, and the names pages refer to them by. */
function fonts(): Record<FontName, FastFont> {
  fontTable ??= {
    [REGULAR]: new FastFont(standardFont('Helvetica', 'F1')),
    [BOLD]: new FastFont(standardFont('Helvetica-Bold', 'F2')),
  };
  return fontTable;
}

/** Text measured on the fonts' AFM metrics, with pdfkit's sums (so fitted sizes are its). */
export function pdfTextMeasure(): TextMeasure {
  const f = fonts();
  return {
    fit: (text, width, font, size) => {
      const advance = f[font].advanceWidth(text);
      let s = size;
      while (s > 4 && f[font].widthOfString(text, s, advance) > width) s -= 0.5;
      return s;
    },
    width: (text, font, size) => f[font].widthOfString(text, size),
  };
}

/**
 * The marks a piece shares with others of its batch: everything but the symbol and the
 * recipient's lines (the human-readable block, the return address, the SAMPLE marking, rules,
 * frames), in the slot's coordinates. The first time a set is seen its bytes are written into
 * the page; the second time they become a Form XObject, which every later page draws with one
 * `Do` (so a batch of like pieces writes them once). A set seen once (a label's tracking number
 * and bars are its own) costs no object.
 */
interface Template {
  body: string;
  uses: number;
  /** The XObject's resource name, once it is one. */
  name?: string;
}

/** The template's key: what its marks are and where. */
function templateKey(marks: readonly Mark[]): string {
  let key = '';
  for (const mark of marks) {
    switch (mark.kind) {
      case 'symbol':
        break;
      case 'text':
        if (!mark.recipient)
          key += `\0t${mark.font}\0${mark.size}\0${mark.x}\0${mark.y}\0${mark.text}`;
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
  return key;
}

/** The content of the marks a template holds, in the slot's coordinates (ASCII). */
function templateBody(marks: readonly Mark[], pageHeight: number): string {
  const f = fonts();
  const n = pdfNumber;
  let out = '';
  for (const mark of marks) {
    switch (mark.kind) {
      case 'symbol':
        break;
      case 'text':
        if (!mark.recipient)
          out += f[mark.font].lineBytes(mark.text, mark.x, mark.y, mark.size, pageHeight);
        break;
      case 'frame': {
        const b = mark.box;
        out += `${n(mark.lineWidth)} w\n${n(b.x)} ${n(b.y)} ${n(b.width)} ${n(b.height)} re\nS\n`;
        break;
      }
      case 'fill':
        for (const b of mark.boxes) out += `${n(b.x)} ${n(b.y)} ${n(b.width)} ${n(b.height)} re\n`;
        out += 'f\n';
        break;
      default:
        throw new Error(`render: unknown mark ${String(mark satisfies never as unknown)}`);
    }
  }
  return out;
}

/** The symbol's image, the unit square scaled to `box` and flipped (the page's y axis points down). */
function symbolText(piece: PrintPiece, box: Box): string {
  // One image sample a module (labels for thermal printers use whole printer dots a module);
  // six decimals keep 48 modules on the dot grid.
  const prefix = `q\n${pdfNumber(box.width)} 0 0 ${pdfNumber(-box.height)} ${pdfNumber(box.x)} ${pdfNumber(box.y + box.height)} cm\n`;
  return piece.symbol
    ? symbolImageText(piece.symbol, prefix, 'Q\n')
    : indiciumImageText(piece.indicium, prefix, 'Q\n');
}

/**
 * A page's content shorter than this is written uncompressed: an envelope's page is some 1 KB
 * (the symbol an inline image of 577 bytes, the recipient's lines, the template's `Do`), and a
 * zlib call costs some 0.1 ms of setup, more than drawing the page, to save a few hundred bytes.
 */
const STORE_BELOW = 4096;

/** Pages whose content is being compressed at a time, at most (each some 8 KB). */
const PAGES_IN_FLIGHT = 8;

async function* asAsync<T>(items: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  for await (const item of items) yield item;
}

/** A finished page waiting for its place in the file (its content may be on the thread). */
interface QueuedPage {
  content: Buffer | Promise<Buffer>;
  ready?: Buffer;
  compressed: boolean;
  /** The pieces up to the end of this page. */
  through: number;
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
  const measure = pdfTextMeasure();
  const f = fonts();
  const H = medium.height;
  const file = new PdfFile();
  const catalogId = file.reserve();
  const pagesId = file.reserve();
  const resourcesId = file.reserve();
  const fontIds: Array<[string, number]> = [];
  for (const [font, base] of [
    [f[REGULAR], 'Helvetica'],
    [f[BOLD], 'Helvetica-Bold'],
  ] as const) {
    const id = file.reserve();
    file.add(id, `/Type /Font\n/Subtype /Type1\n/BaseFont /${base}\n/Encoding /WinAnsiEncoding\n`);
    fontIds.push([font.font.id, id]);
  }
  const pageEntries = (contentId: number) =>
    `/Type /Page\n/Parent ${pagesId} 0 R\n/MediaBox [0 0 ${pdfNumber(medium.width)} ${pdfNumber(H)}]\n` +
    `/Contents ${contentId} 0 R\n/Resources ${resourcesId} 0 R\n`;
  const templates = new Map<string, Template>();
  const xobjects: Array<[string, number]> = [];
  const pageIds: number[] = [];

  let failed: Error | undefined;
  const onError = (error: Error): void => {
    failed ??= error;
  };
  out.on('error', onError);
  // Progress: the pieces whose pages are wholly in the file's bytes, reported when the output
  // has taken the last of those bytes (a write's callback), so it never runs ahead of a slow
  // printer or disk.
  const progress = opts.onProgress;
  let piecesInFile = 0;
  const pump = async (all = false): Promise<void> => {
    if (failed) throw failed;
    if (file.pendingBytes === 0 || (!all && file.pendingBytes < WRITE_BYTES)) return;
    const through = piecesInFile;
    out.write(file.take(), (error) => {
      if (!error && !failed) progress?.(through);
    });
    if (out.writableNeedDrain) await once(out, 'drain');
    if (failed) throw failed;
  };

  // Pages go into the file in order; a page being compressed on the thread holds back the ones
  // after it, at most PAGES_IN_FLIGHT of them.
  const deflater = new PageDeflater(opts.compressOnThread);
  const queue: QueuedPage[] = [];
  const place = async (all: boolean): Promise<void> => {
    for (;;) {
      const head = queue[0];
      if (!head) return;
      if (!head.ready) {
        if (!all && queue.length <= PAGES_IN_FLIGHT) return;
        head.ready = await head.content;
      }
      queue.shift();
      const contentId = file.reserve();
      const pageId = file.reserve();
      file.add(contentId, head.compressed ? '/Filter /FlateDecode\n' : '', head.ready);
      file.add(pageId, pageEntries(contentId));
      pageIds.push(pageId);
      piecesInFile = head.through;
    }
  };
  const finishPage = (text: string, through: number): void => {
    const content = Buffer.from(text, 'latin1');
    const compressed = content.length >= STORE_BELOW;
    const entry: QueuedPage = {
      content: compressed ? deflater.deflate(content) : content,
      compressed,
      through,
    };
    if (Buffer.isBuffer(entry.content)) entry.ready = entry.content;
    else {
      entry.content.then(
        (b) => (entry.ready = b),
        () => undefined, // awaited in place()
      );
    }
    queue.push(entry);
  };

  const flip = `1 0 0 -1 0 ${pdfNumber(H)} cm\n`;
  let count = 0;
  let pages = 0;
  let slot = medium.slots.length;
  // The page's content, built as text (all ASCII) and made bytes once the page is done.
  let page = '';
  try {
    for await (const piece of asAsync(pieces)) {
      if (failed) break;
      const fields = decodePiece(piece, count);
      if (slot >= medium.slots.length) {
        if (pages > 0) {
          finishPage(page, count);
          await place(false);
          await pump();
        }
        page = flip;
        pages += 1;
        slot = 0;
      }
      const plan = planPiece(
        medium,
        slot,
        fields,
        piece,
        opts.returnAddress,
        calibration,
        measure,
        dpi,
      );
      page += `q\n1 0 0 1 ${pdfNumber(plan.origin.x)} ${pdfNumber(plan.origin.y)} cm\n0 g\n0 G\n`;
      const key = templateKey(plan.marks);
      let template = templates.get(key);
      if (!template) {
        template = { body: templateBody(plan.marks, H), uses: 0 };
        remember(templates, key, template);
      }
      template.uses += 1;
      if (template.uses === 2) {
        template.name = `T${xobjects.length + 1}`;
        const id = file.reserve();
        file.add(
          id,
          `/Type /XObject\n/Subtype /Form\n/BBox [${pdfNumber(-medium.width)} ${pdfNumber(-H)} ${pdfNumber(2 * medium.width)} ${pdfNumber(2 * H)}]\n/Resources ${resourcesId} 0 R\n`,
          Buffer.from(template.body, 'latin1'),
        );
        xobjects.push([template.name, id]);
      }
      page += template.name ? `/${template.name} Do\n` : template.body;
      for (const mark of plan.marks) {
        if (mark.kind === 'symbol') page += symbolText(piece, mark.box);
        else if (mark.kind === 'text' && mark.recipient) {
          const m: TextMark = mark;
          page += f[m.font].lineBytes(m.text, m.x, m.y, m.size, H);
        }
      }
      page += 'Q\n';
      slot += 1;
      count += 1;
    }
    if (failed) throw failed;
    if (count === 0) {
      throw new PrintError('PRINT_NO_PIECES', 'print: the batch has no pieces; add at least one');
    }
    finishPage(page, count);
    await place(true);
    const names = (list: Array<[string, number]>) =>
      list.map(([name, id]) => `/${name} ${id} 0 R`).join(' ');
    file.add(
      resourcesId,
      `/ProcSet [/PDF /Text /ImageB]\n/Font << ${names(fontIds)} >>\n` +
        (xobjects.length > 0 ? `/XObject << ${names(xobjects)} >>\n` : ''),
    );
    file.add(
      pagesId,
      `/Type /Pages\n/Count ${pageIds.length}\n/Kids [${pageIds.map((id) => `${id} 0 R`).join(' ')}]\n`,
    );
    file.add(catalogId, `/Type /Catalog\n/Pages ${pagesId} 0 R\n`);
    file.end(catalogId, {
      title: opts.title ?? `Postage, ${medium.label}`,
      producer: 'vpm print driver',
    });
    await pump(true);
    const finished = once(out, 'finish');
    out.end();
    await finished;
  } catch (error) {
    out.destroy(error instanceof Error ? error : new Error(String(error)));
    await deflater.close();
    throw failed ?? error;
  }
  await deflater.close();
  out.off('error', onError);
  progress?.(count);
  return { pages, pieces: count };
}
