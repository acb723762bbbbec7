/**
 * @module print/print-pieces
 * The two ends of the print driver that commands call: render a batch to a PDF file, or render
 * it and send it to a printer queue (the PDF goes to a temporary file CUPS copies, then it is
 * removed). A driver that prints HTML (Chromium's printing, ./bridge-printer.ts) gets the batch
 * as HTML documents of a bounded number of pages, all rendered before the first is sent.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { PrintError } from './errors';
import { renderHtml, renderHtmlJobs } from './html';
import { mediumById, type Medium } from './media';
import { CupsPrinterDriver, type PrintJob, type PrinterDriver } from './printers';
import { renderPieces, type PrintPiece, type RenderOptions, type RenderResult } from './render';

type Pieces = AsyncIterable<PrintPiece> | Iterable<PrintPiece>;

/** Renders a batch into one file with `render`; on failure no file is left behind. */
async function renderIntoFile(
  render: (pieces: Pieces, opts: RenderOptions, out: Writable) => Promise<RenderResult>,
  pieces: Pieces,
  opts: RenderOptions,
  path: string,
): Promise<RenderResult> {
  const out = createWriteStream(path);
  // Settles when the file is closed, or at once on a stream error (which the renderer reports);
  // handled from the start, as an error can come before anything awaits it.
  const closed = once(out, 'close').catch(() => undefined);
  try {
    return await render(pieces, opts, out);
  } catch (error) {
    out.destroy();
    await closed;
    await rm(path, { force: true }); // no half-written document left to print by mistake
    throw error;
  } finally {
    out.destroy();
    await closed;
  }
}

/** Renders a batch into one PDF file; on failure no file is left behind. */
export const renderToFile = (
  pieces: Pieces,
  opts: RenderOptions,
  path: string,
): Promise<RenderResult> => renderIntoFile(renderPieces, pieces, opts, path);

/** Renders a batch into one HTML file; on failure no file is left behind. */
export const renderHtmlToFile = (
  pieces: Pieces,
  opts: RenderOptions,
  path: string,
): Promise<RenderResult> => renderIntoFile(renderHtml, pieces, opts, path);

export interface PrintOptions extends RenderOptions {
  /** The printer queue's name. */
  printer: string;
  /** Defaults to CUPS. */
  driver?: PrinterDriver;
  copies?: number;
}

export interface PrintResult extends RenderResult {
  /** The (last) job; a batch printed as HTML may be several jobs, in `jobs`. */
  job: PrintJob;
  jobs: PrintJob[];
}

/** Renders a batch and sends it to a printer queue as one job. */
export async function printPieces(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: PrintOptions,
): Promise<PrintResult> {
  const medium: Medium = typeof opts.media === 'string' ? mediumById(opts.media) : opts.media;
  const driver: PrinterDriver = opts.driver ?? new CupsPrinterDriver();
  // Check the queue before rendering, so a typo does not cost a 10,000-piece render.
  const printers = await driver.listPrinters();
  if (!printers.some((p) => p.name === opts.printer)) {
    const names = printers.map((p) => p.name).join(', ');
    throw new PrintError(
      'PRINT_PRINTER_NOT_FOUND',
      `printer "${opts.printer}": no such printer on this computer; ${names ? `the printers here are: ${names}` : 'no printers are set up; add one in your system settings'}`,
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'vpm-print-'));
  try {
    if (driver.format === 'html') return await printHtml(pieces, opts, medium, driver, dir);
    const file = join(dir, 'postage.pdf');
    const rendered = await renderToFile(pieces, { ...opts, media: medium }, file);
    const job = await driver.submit({
      printer: opts.printer,
      file,
      medium,
      title: opts.title ?? `Postage ${medium.id}`,
      ...(opts.copies ? { copies: opts.copies } : {}),
    });
    return { ...rendered, job, jobs: [job] };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Renders the batch as HTML documents of at most HTML_JOB_PAGES pages into `dir` (so a bad piece
 * stops the batch before anything prints, and memory holds one document at a time), then sends
 * them in order, one job each. If a later job is refused, the message says which pages went.
 */
async function printHtml(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: PrintOptions,
  medium: Medium,
  driver: PrinterDriver,
  dir: string,
): Promise<PrintResult> {
  const parts: Array<{ file: string; pages: number }> = [];
  const rendered = await renderHtmlJobs(pieces, { ...opts, media: medium }, async (job) => {
    const file = join(dir, `postage-${job.index + 1}.html`);
    await writeFile(file, job.html);
    parts.push({ file, pages: job.pages });
  });
  const title = opts.title ?? `Postage ${medium.id}`;
  const jobs: PrintJob[] = [];
  let pagesSent = 0;
  for (const [i, part] of parts.entries()) {
    try {
      jobs.push(
        await driver.submit({
          printer: opts.printer,
          file: part.file,
          medium,
          title: parts.length > 1 ? `${title} (${i + 1} of ${parts.length})` : title,
          ...(opts.copies ? { copies: opts.copies } : {}),
        }),
      );
    } catch (error) {
      if (i === 0 || !(error instanceof PrintError)) throw error;
      throw new PrintError(
        error.code,
        `${error.message} — only pages 1–${pagesSent} of ${rendered.pages} were sent (jobs 1–${i} of ${parts.length}); once the printer works, reprint the remaining pieces from the history (reprints are free)`,
      );
    }
    pagesSent += part.pages;
    await rm(part.file, { force: true });
  }
  return { ...rendered, job: jobs[jobs.length - 1] as PrintJob, jobs };
}
