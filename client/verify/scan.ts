/**
 * @module verify/scan
 * Finds Data Matrix symbols in a scan (PNG, JPEG, or PDF rasterized at 200 dpi with poppler's
 * `pdftoppm`) and returns their raw bytes. Decoding is zxing-wasm, with its reader .wasm loaded
 * from node_modules — never from a CDN, so the verifier works offline.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import { VerifyError } from './errors';
import {
  MAX_SCAN_SIDE_PX,
  checkImageSize,
  checkPdfPages,
  checkScanBytes,
  imageDimensions,
  pdfPageSizes,
} from './scan-limits';

export type ScanKind = 'png' | 'jpeg' | 'pdf';

/** Scan resolution for PDFs: what an ordinary office scanner gives. */
export const SCAN_DPI = 200;

/** Tells the file type from its first bytes. */
export function sniffScan(bytes: Uint8Array): ScanKind | undefined {
  const starts = (...sig: number[]): boolean => sig.every((b, i) => bytes[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'png';
  if (starts(0xff, 0xd8, 0xff)) return 'jpeg';
  if (starts(0x25, 0x50, 0x44, 0x46, 0x2d)) return 'pdf';
  return undefined;
}

let zxingReady: Promise<unknown> | undefined;

/** Loads the zxing reader from the local .wasm file, once. */
function loadZxing(): Promise<unknown> {
  zxingReady ??= (async () => {
    const path = createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm');
    const wasm = await readFile(path);
    const wasmBinary = wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength);
    return prepareZXingModule({
      overrides: {
        wasmBinary,
        // Emscripten still asks where the file is; point it at the local copy, never the CDN.
        locateFile: () => path,
      },
      fireImmediately: true,
    });
  })();
  return zxingReady;
}

/** The Data Matrix symbols in one image file's bytes (PNG or JPEG). */
export async function readDataMatrix(image: Uint8Array): Promise<Uint8Array[]> {
  await loadZxing();
  const results = await readBarcodes(image, {
    formats: ['DataMatrix'],
    tryHarder: true,
    maxNumberOfSymbols: 16,
  });
  return results.filter((r) => r.isValid).map((r) => Uint8Array.from(r.bytes));
}

/** Rasterizes a PDF's pages to PNG bytes with pdftoppm. */
export async function rasterizePdf(
  file: string,
  opts: { dpi?: number; maxPages?: number } = {},
): Promise<Uint8Array[]> {
  const dir = await mkdtemp(join(tmpdir(), 'vpm-scan-'));
  try {
    // The crop is a hard cap on the pixels drawn, whatever size the page claims to be.
    const cap = String(MAX_SCAN_SIDE_PX);
    const args = ['-r', String(opts.dpi ?? SCAN_DPI), '-png', '-x', '0', '-y', '0'];
    args.push('-W', cap, '-H', cap);
    if (opts.maxPages) args.push('-l', String(opts.maxPages));
    args.push(file, join(dir, 'page'));
    await new Promise<void>((resolve, reject) => {
      execFile('pdftoppm', args, { timeout: 120_000 }, (error, _stdout, stderr) => {
        if (!error) return resolve();
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return reject(
            new VerifyError(
              'VERIFY_RASTERIZER_MISSING',
              'pdftoppm: not installed, so PDF scans cannot be read; install poppler-utils (apt install poppler-utils, brew install poppler) or scan to PNG/JPEG',
            ),
          );
        }
        reject(
          new VerifyError(
            'VERIFY_RASTERIZE_FAILED',
            `${file}: pdftoppm could not read the PDF (${String(stderr).trim() || error.message}); check the file or scan to PNG/JPEG`,
          ),
        );
      });
    });
    const pages = (await readdir(dir)).filter((f) => f.endsWith('.png')).sort();
    return await Promise.all(pages.map(async (p) => new Uint8Array(await readFile(join(dir, p)))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Reads a scan file and returns every Data Matrix symbol's bytes, page by page. A file, image
 * or page beyond the limits of ./scan-limits.ts is refused before it is decoded or rasterized.
 */
export async function readScanSymbols(
  file: string,
  opts: { maxPages?: number } = {},
): Promise<Uint8Array[]> {
  let bytes: Uint8Array;
  try {
    checkScanBytes(file, (await stat(file)).size);
    bytes = new Uint8Array(await readFile(file));
  } catch (error) {
    if (error instanceof VerifyError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new VerifyError(
      'VERIFY_FILE_MISSING',
      `${file}: ${code === 'ENOENT' ? 'no such file' : 'cannot read it'}; check the path`,
    );
  }
  const maxPages = opts.maxPages ?? 20;
  const kind = sniffScan(bytes);
  if (!kind) {
    throw new VerifyError(
      'VERIFY_UNSUPPORTED_FILE',
      `${file}: not a PNG, JPEG or PDF file; scan the piece to one of those`,
    );
  }
  if (kind === 'pdf') {
    checkPdfPages(file, await pdfPageSizes(file, maxPages), SCAN_DPI);
  } else {
    checkImageSize(file, imageDimensions(bytes, kind));
  }
  const images = kind === 'pdf' ? await rasterizePdf(file, { maxPages }) : [bytes];
  const symbols: Uint8Array[] = [];
  for (const image of images) symbols.push(...(await readDataMatrix(image)));
  return symbols;
}
