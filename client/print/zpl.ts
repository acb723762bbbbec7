/**
 * @module print/zpl
 * ZPL II for Zebra-compatible thermal printers at 203 or 300 dpi (part of the patent's "local
 * print driver"): the same Publication 199 label plan as the PDF (./label.ts), in printer dots.
 * The indicium's Data Matrix is a `^GF` graphic made at the printer's resolution, every module a
 * whole number of dots: it is the exact symbol the PDF carries (48 × 48, one Base256 field),
 * where a native `^BX` would leave the encodation and symbol size to the printer's firmware and
 * need every binary byte escaped through `^FH`. The IMpb is a native `^BC` Code 128 started in
 * subset C with FNC1 (`>;>8`), so the printer draws GS1-128 bars on its own grid.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { darkRuns, dataMatrixModules } from './datamatrix';
import { PrintError } from './errors';
import { checkDpi, type ThermalDpi } from './label';
import { mediumById } from './media';
import { checkCalibration, decodePiece, planPiece, type Mark } from './piece-plan';
import { CupsPrinterDriver, type PrintJob, type PrinterDriver } from './printers';
import { pdfTextMeasure, type PrintPiece, type RenderOptions, type RenderResult } from './render';

export interface ZplOptions extends Omit<RenderOptions, 'dpi'> {
  dpi: number;
}

/** Field data with `^`, `~` and `_` written as `^FH` hex escapes; other text as it is (^CI28). */
function fieldData(text: string): string {
  const escaped = text.replace(
    /[\^~_\\]/g,
    (c) => `_${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `^FH_^FD${escaped}^FS`;
}

/** The GS1 element string "(420)ZIP(9x)…" as ^BC field data: subset C, FNC1, FNC1 between AIs. */
export function zplGs1Data(gs1: string): string {
  const parts = [...gs1.matchAll(/\((\d+)\)(\d+)/g)].map((m) => `${m[1]}${m[2]}`);
  if (parts.join('').length === 0 || parts.some((p) => p.length % 2 !== 0)) {
    throw new Error(`zpl: "${gs1}" is not an all-numeric GS1 string of even-length elements`);
  }
  return `>;>8${parts.join('>8')}`;
}

/** The symbol as a ^GF graphic, `module` printer dots a module. */
export function symbolGraphic(bytes: Uint8Array, module: number): string {
  const matrix = dataMatrixModules(bytes);
  const width = matrix.columns * module;
  const rowBytes = Math.ceil(width / 8);
  const height = matrix.rows * module;
  const bitmap = Buffer.alloc(rowBytes * height);
  for (const run of darkRuns(matrix)) {
    for (let dy = 0; dy < module; dy++) {
      const row = (run.row * module + dy) * rowBytes;
      for (let x = run.column * module; x < (run.column + run.length) * module; x++) {
        bitmap[row + (x >> 3)] = (bitmap[row + (x >> 3)] ?? 0) | (0x80 >> (x & 7));
      }
    }
  }
  return `^GFA,${bitmap.length},${bitmap.length},${rowBytes},${bitmap.toString('hex').toUpperCase()}`;
}

function markZpl(
  mark: Mark,
  piece: PrintPiece,
  dot: (pt: number) => number,
  origin: { x: number; y: number },
): string {
  const fo = (x: number, y: number): string => `^FO${dot(origin.x + x)},${dot(origin.y + y)}`;
  switch (mark.kind) {
    case 'text': {
      const h = dot(mark.size);
      const font = `^A0N,${h},${Math.round(h * 0.9)}`;
      const c = mark.centreIn;
      // Font 0 is narrower than Helvetica: a centred line is centred by the printer (^FB … C).
      if (c) return `${fo(c.x, mark.y)}${font}^FB${dot(c.width)},1,0,C${fieldData(mark.text)}`;
      return `${fo(mark.x, mark.y)}${font}${fieldData(mark.text)}`;
    }
    case 'frame': {
      const b = mark.box;
      return `${fo(b.x, b.y)}^GB${dot(b.width)},${dot(b.height)},${Math.max(1, dot(mark.lineWidth))}^FS`;
    }
    case 'fill': {
      const c = mark.barcode;
      if (c) {
        return `${fo(c.x, c.y)}^BY${dot(c.module)}^BCN,${dot(c.height)},N,N,N,N^FD${zplGs1Data(c.gs1)}^FS`;
      }
      return mark.boxes
        .map((b) => {
          const [w, h] = [Math.max(1, dot(b.width)), Math.max(1, dot(b.height))];
          return `${fo(b.x, b.y)}^GB${w},${h},${Math.min(w, h)}^FS`;
        })
        .join('\n');
    }
    case 'symbol': {
      const module = dot(mark.box.width / 48);
      return `${fo(mark.box.x, mark.box.y)}${symbolGraphic(piece.indicium, module)}^FS`;
    }
    default:
      throw new Error(`zpl: unknown mark ${String(mark satisfies never as unknown)}`);
  }
}

/** One label's ZPL (^XA … ^XZ). */
export function labelZpl(piece: PrintPiece, index: number, opts: ZplOptions): string {
  const dpi: ThermalDpi = checkDpi(opts.dpi) ?? 203;
  const medium = typeof opts.media === 'string' ? mediumById(opts.media) : opts.media;
  if (medium.kind !== 'label') {
    throw new PrintError(
      'PRINT_FORMAT_MEDIUM',
      `ZPL: prints on 4 × 6 label rolls only (label4x6), not ${medium.id}; choose --media label4x6 or a PDF`,
    );
  }
  const fields = decodePiece(piece, index);
  const calibration = checkCalibration(opts.calibration);
  const plan = planPiece(medium, 0, fields, piece, opts.returnAddress, calibration, measure(), dpi);
  const dot = (pt: number): number => Math.round((pt * dpi) / 72);
  const lines = plan.marks.map((m) => markZpl(m, piece, dot, plan.origin));
  return [
    '^XA',
    '^CI28',
    `^PW${dot(medium.width)}`,
    `^LL${dot(medium.height)}`,
    '^LH0,0',
    ...lines,
    '^PQ1',
    '^XZ',
    '',
  ].join('\n');
}

let textMeasure: ReturnType<typeof pdfTextMeasure> | undefined;
function measure(): ReturnType<typeof pdfTextMeasure> {
  textMeasure ??= pdfTextMeasure();
  return textMeasure;
}

async function* asAsync<T>(items: AsyncIterable<T> | Iterable<T>): AsyncGenerator<T> {
  for await (const item of items) yield item;
}

/** Writes a batch as ZPL to `out` (which it ends): one ^XA … ^XZ label per piece. */
export async function renderZpl(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: RenderOptions,
  out: Writable,
): Promise<RenderResult> {
  const zplOpts: ZplOptions = { ...opts, dpi: checkDpi(opts.dpi) ?? 203 };
  let count = 0;
  try {
    for await (const piece of asAsync(pieces)) {
      if (!out.write(labelZpl(piece, count, zplOpts))) await once(out, 'drain');
      count += 1;
      opts.onProgress?.(count);
    }
    if (count === 0) {
      throw new PrintError('PRINT_NO_PIECES', 'print: the batch has no pieces; add at least one');
    }
  } catch (error) {
    out.destroy(error instanceof Error ? error : new Error(String(error)));
    throw error;
  }
  const finished = once(out, 'finish');
  out.end();
  await finished;
  return { pages: count, pieces: count };
}

/** Writes a batch as ZPL into a file; on failure no file is left behind. */
export async function renderZplToFile(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: RenderOptions,
  path: string,
): Promise<RenderResult> {
  const out = createWriteStream(path);
  const closed = once(out, 'close').catch(() => undefined);
  try {
    return await renderZpl(pieces, opts, out);
  } catch (error) {
    out.destroy();
    await closed;
    await rm(path, { force: true });
    throw error;
  } finally {
    out.destroy();
    await closed;
  }
}

/** Renders a batch as ZPL and sends it raw (`lp -o raw`) to a thermal printer's queue. */
export async function printZpl(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  opts: RenderOptions & { printer: string },
  driver: PrinterDriver = new CupsPrinterDriver(),
): Promise<RenderResult & { job: PrintJob }> {
  const medium = typeof opts.media === 'string' ? mediumById(opts.media) : opts.media;
  const dir = await mkdtemp(join(tmpdir(), 'vpm-zpl-'));
  try {
    const file = join(dir, 'labels.zpl');
    const rendered = await renderZplToFile(pieces, { ...opts, media: medium }, file);
    const job = await driver.submit({
      printer: opts.printer,
      file,
      medium,
      title: opts.title ?? `Labels ${medium.id}`,
      raw: true,
    });
    return { ...rendered, job };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
