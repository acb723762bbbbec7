/**
 * @module print/html
 * The local print driver's second output: the same pieces as a self-contained HTML document that
 * Chromium prints (the desktop app's print path on Windows, and an option on macOS and Linux) and
 * that any browser opens. Each page is one inline SVG at the medium's exact size in points, drawn
 * from the same plan as the PDF (piece-plan.ts: layout, fitted text, calibration offsets): the Data
 * Matrix as one vector path of the same module matrix, text in embedded fonts (Arimo, metric-
 * compatible with the PDF's Helvetica), `@page { size; margin: 0 }` and no scaling anywhere. The
 * document carries its own Content-Security-Policy: no script, no network, styles only by hash,
 * fonts only from data: URLs. Pages are produced one at a time, so a batch streams to a file or
 * is cut into print jobs of a bounded number of pages.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { dataMatrixModules, symbolSvgPath } from './datamatrix';
import { PrintError } from './errors';
import { ARIMO_BOLD_WOFF2, ARIMO_REGULAR_WOFF2 } from './html-fonts';
import { mediumById, type Medium } from './media';
import { BOLD, checkCalibration, decodePiece, planPiece, type PiecePlan } from './piece-plan';
import { pdfTextMeasure, type PrintPiece, type RenderOptions, type RenderResult } from './render';

/** Helvetica's ascender (its AFM, both weights): pdfkit places a line's top this far above the baseline. */
export const HELVETICA_ASCENDER = 0.718;
/** Pages of one print job when a batch is printed through Chromium. */
export const HTML_JOB_PAGES = 200;

const num = (n: number): string => String(Math.round(n * 10_000) / 10_000);
const esc = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The document's style sheet: fonts, the exact page, no margins, one SVG per page. */
function styleSheet(medium: Medium): string {
  return (
    `@font-face{font-family:Arimo;font-style:normal;font-weight:400;` +
    `src:url(data:font/woff2;base64,${ARIMO_REGULAR_WOFF2}) format("woff2")}` +
    `@font-face{font-family:Arimo;font-style:normal;font-weight:700;` +
    `src:url(data:font/woff2;base64,${ARIMO_BOLD_WOFF2}) format("woff2")}` +
    `@page{size:${num(medium.width)}pt ${num(medium.height)}pt;margin:0}` +
    // Black on white whatever the system's colour scheme or contrast mode says.
    `:root{color-scheme:only light}html,body{margin:0;padding:0;background:#fff}` +
    `svg.page{display:block;overflow:hidden;break-after:page;forced-color-adjust:none;` +
    `-webkit-print-color-adjust:exact;print-color-adjust:exact}` +
    `svg.page:last-child{break-after:auto}` +
    `text{font-family:Arimo;font-weight:400;font-kerning:normal;text-rendering:geometricPrecision}` +
    `text.b{font-weight:700}`
  );
}

/** The start of a document for this medium, up to and including `<body>`. */
export function htmlDocumentStart(medium: Medium, title: string): string {
  const css = styleSheet(medium);
  const hash = createHash('sha256').update(css).digest('base64');
  const csp = `default-src 'none'; style-src 'sha256-${hash}'; font-src data:; base-uri 'none'; form-action 'none'`;
  return (
    `<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">` +
    `<meta http-equiv="Content-Security-Policy" content="${csp}">` +
    `<meta name="generator" content="vpm print driver">` +
    `<title>${esc(title)}</title><style>${css}</style></head><body>\n`
  );
}

export const HTML_DOCUMENT_END = '</body></html>\n';

/** One piece's marks as SVG, in the page's coordinates (points). */
function pieceSvg(plan: PiecePlan, piece: PrintPiece): string {
  let svg = `<g transform="translate(${num(plan.origin.x)} ${num(plan.origin.y)})">`;
  for (const mark of plan.marks) {
    switch (mark.kind) {
      case 'symbol': {
        const matrix = piece.symbol ?? dataMatrixModules(piece.indicium);
        svg +=
          `<path transform="translate(${num(mark.box.x)} ${num(mark.box.y)}) scale(${num(mark.box.width / matrix.columns)})" ` +
          `fill="#000" d="${symbolSvgPath(matrix)}"/>`;
        break;
      }
      case 'text': {
        const baseline = mark.y + HELVETICA_ASCENDER * mark.size;
        svg +=
          `<text${mark.font === BOLD ? ' class="b"' : ''} x="${num(mark.x)}" y="${num(baseline)}" ` +
          `font-size="${num(mark.size)}">${esc(mark.text)}</text>`;
        break;
      }
      case 'fill':
        svg += `<path fill="#000" d="${mark.boxes.map((b) => `M${num(b.x)} ${num(b.y)}h${num(b.width)}v${num(b.height)}h${num(-b.width)}z`).join('')}"/>`;
        break;
      case 'frame': {
        const b = mark.box;
        svg +=
          `<rect x="${num(b.x)}" y="${num(b.y)}" width="${num(b.width)}" height="${num(b.height)}" ` +
          `fill="none" stroke="#000" stroke-width="${num(mark.lineWidth)}"/>`;
        break;
      }
      default:
        throw new Error(`html: unknown mark ${String(mark satisfies never as unknown)}`);
    }
  }
  return `${svg}</g>`;
}

function pageSvg(medium: Medium, body: string): string {
  const w = num(medium.width);
  const h = num(medium.height);
  return (
    `<svg class="page" xmlns="http://www.w3.org/2000/svg" width="${w}pt" height="${h}pt" ` +
    `viewBox="0 0 ${w} ${h}">${body}</svg>\n`
  );
}

export interface HtmlPage {
  /** The page's `<svg>` element. */
  svg: string;
  pieces: number;
}

/**
 * The pages of a batch, one at a time (two pieces a page on the 2-up sheet). Refuses, before any
 * page, a bad medium or calibration; and a piece whose indicium does not decode or whose ZIP is
 * not the indicium's, or a batch without pieces.
 */
export async function* htmlPages(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: RenderOptions,
): AsyncGenerator<HtmlPage> {
  const medium = typeof opts.media === 'string' ? mediumById(opts.media) : opts.media;
  const calibration = checkCalibration(opts.calibration);
  const measure = pdfTextMeasure();
  let body = '';
  let slot = 0;
  let count = 0;
  for await (const piece of pieces) {
    const fields = decodePiece(piece, count);
    const plan = planPiece(medium, slot, fields, piece, opts.returnAddress, calibration, measure);
    body += pieceSvg(plan, piece);
    count += 1;
    slot += 1;
    if (slot === medium.slots.length) {
      yield { svg: pageSvg(medium, body), pieces: slot };
      body = '';
      slot = 0;
    }
  }
  if (slot > 0) yield { svg: pageSvg(medium, body), pieces: slot };
  if (count === 0) {
    throw new PrintError('PRINT_NO_PIECES', 'print: the batch has no pieces; add at least one');
  }
}

function titleFor(opts: RenderOptions, medium: Medium): string {
  return opts.title ?? `Postage, ${medium.label}`;
}

/** Renders a batch into one HTML document written to `out` (which it ends). */
export async function renderHtml(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: RenderOptions,
  out: Writable,
): Promise<RenderResult> {
  const medium = typeof opts.media === 'string' ? mediumById(opts.media) : opts.media;
  let failed: Error | undefined;
  const onError = (error: Error): void => {
    failed ??= error;
  };
  out.on('error', onError);
  const progress = opts.onProgress;
  /** Writes; `written` pieces are reported once the output has taken the text. */
  const write = async (text: string, written?: number): Promise<void> => {
    if (failed) throw failed;
    const more = out.write(text, (error) => {
      if (!error && !failed && written !== undefined) progress?.(written);
    });
    if (!more && !failed) await once(out, 'drain');
    if (failed) throw failed;
  };
  let pages = 0;
  let count = 0;
  try {
    let started = false;
    for await (const page of htmlPages(pieces, { ...opts, media: medium })) {
      if (!started) await write(htmlDocumentStart(medium, titleFor(opts, medium)));
      started = true;
      pages += 1;
      count += page.pieces;
      await write(page.svg, count);
    }
    await write(HTML_DOCUMENT_END);
  } catch (error) {
    out.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  const finished = once(out, 'finish');
  out.end();
  await finished;
  out.off('error', onError);
  if (failed) throw failed;
  progress?.(count);
  return { pages, pieces: count };
}

/** One print job of a batch printed through Chromium: a whole document of at most N pages. */
export interface HtmlJob {
  /** 0 for the first job. */
  index: number;
  html: string;
  pages: number;
  pieces: number;
}

/**
 * Renders a batch as HTML documents of at most `pagesPerJob` pages each (one print job each),
 * handing each finished document to `onJob` before the next is made: however long the batch,
 * only one job's pages are held in memory. Progress counts the pieces of the jobs handed over.
 */
export async function renderHtmlJobs(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: RenderOptions,
  onJob: (job: HtmlJob) => Promise<void>,
  pagesPerJob = HTML_JOB_PAGES,
): Promise<RenderResult> {
  const medium = typeof opts.media === 'string' ? mediumById(opts.media) : opts.media;
  const start = htmlDocumentStart(medium, titleFor(opts, medium));
  let svgs: string[] = [];
  let jobPieces = 0;
  let index = 0;
  let pages = 0;
  let count = 0;
  const flush = async (): Promise<void> => {
    const job = { index, html: start + svgs.join('') + HTML_DOCUMENT_END, pages: svgs.length };
    svgs = [];
    const inJob = jobPieces;
    jobPieces = 0;
    index += 1;
    await onJob({ ...job, pieces: inJob });
    opts.onProgress?.(count);
  };
  for await (const page of htmlPages(pieces, { ...opts, media: medium })) {
    svgs.push(page.svg);
    jobPieces += page.pieces;
    pages += 1;
    count += page.pieces;
    if (svgs.length >= pagesPerJob) await flush();
  }
  if (svgs.length > 0) await flush();
  return { pages, pieces: count };
}
