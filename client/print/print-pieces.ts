/**
 * @module print/print-pieces
 * The two ends of the print driver that commands call: render a batch to a PDF file, or render
 * it and send it to a printer queue (the PDF goes to a temporary file CUPS copies, then it is
 * removed).
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PrintError } from './errors';
import { mediumById, type Medium } from './media';
import { CupsPrinterDriver, type PrintJob, type PrinterDriver } from './printers';
import { renderPieces, type PrintPiece, type RenderOptions, type RenderResult } from './render';

/** Renders a batch into one PDF file; on failure no file is left behind. */
export async function renderToFile(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: RenderOptions,
  path: string,
): Promise<RenderResult> {
  const out = createWriteStream(path);
  // Settles when the file is closed, or at once on a stream error (which renderPieces reports);
  // handled from the start, as an error can come before anything awaits it.
  const closed = once(out, 'close').catch(() => undefined);
  try {
    return await renderPieces(pieces, opts, out);
  } catch (error) {
    out.destroy();
    await closed;
    await rm(path, { force: true }); // no half-written PDF left to print by mistake
    throw error;
  } finally {
    out.destroy();
    await closed;
  }
}

export interface PrintOptions extends RenderOptions {
  /** The printer queue's name. */
  printer: string;
  /** Defaults to CUPS. */
  driver?: PrinterDriver;
  copies?: number;
}

export interface PrintResult extends RenderResult {
  job: PrintJob;
}

/** Renders a batch and sends it to a printer queue as one job. */
export async function printPieces(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: PrintOptions,
): Promise<PrintResult> {
  const medium: Medium = typeof opts.media === 'string' ? mediumById(opts.media) : opts.media;
  const driver = opts.driver ?? new CupsPrinterDriver();
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
    const file = join(dir, 'postage.pdf');
    const rendered = await renderToFile(pieces, { ...opts, media: medium }, file);
    const job = await driver.submit({
      printer: opts.printer,
      file,
      medium,
      title: opts.title ?? `Postage ${medium.id}`,
      ...(opts.copies ? { copies: opts.copies } : {}),
    });
    return { ...rendered, job };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
