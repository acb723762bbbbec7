/**
 * @module verify/scan-limits
 * How big a scan the verifier agrees to read, checked before any decoding or rasterizing: a
 * hostile file (a PDF whose MediaBox is a mile wide, a PNG header claiming 100,000 × 100,000
 * pixels) must be refused in milliseconds, not after minutes of work and gigabytes of memory.
 * Image sizes come from the PNG and JPEG headers; PDF page sizes from poppler's `pdfinfo`, and
 * `pdftoppm` is also given a hard pixel crop so a page whose size `pdfinfo` misjudges still
 * cannot rasterize past the limit.
 */
import { execFile } from 'node:child_process';
import { VerifyError } from './errors';

/** A scan file larger than this is refused before it is read (a 600 dpi letter JPEG is ~5 MB). */
export const MAX_SCAN_BYTES = 64 * 1024 * 1024;
/** Pixels of one image or rasterized page: a 12 × 12 in sheet at 400 dpi. */
export const MAX_SCAN_PIXELS = 24_000_000;
/** Longest side of one image or rasterized page, in pixels. */
export const MAX_SCAN_SIDE_PX = 12_000;
/** Longest side of a PDF page, in inches: the largest medium is a 9 × 12 in envelope. */
export const MAX_PAGE_INCHES = 24;

function tooLarge(file: string, what: string): VerifyError {
  return new VerifyError(
    'VERIFY_SCAN_TOO_LARGE',
    `${file}: ${what}; scan the piece alone at 200 to 600 dpi (at most ${MAX_SCAN_PIXELS / 1_000_000} megapixels, ${MAX_PAGE_INCHES} inches a side)`,
  );
}

/** Refuses a file too large to read. */
export function checkScanBytes(file: string, bytes: number): void {
  if (bytes > MAX_SCAN_BYTES)
    throw tooLarge(
      file,
      `${Math.ceil(bytes / 1024 / 1024)} MB is more than the ${MAX_SCAN_BYTES / 1024 / 1024} MB a scan may have`,
    );
}

/** Width and height a PNG or JPEG header declares, or undefined when it says none. */
export function imageDimensions(
  bytes: Uint8Array,
  kind: 'png' | 'jpeg',
): { width: number; height: number } | undefined {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (kind === 'png') {
    // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4).
    if (bytes.length < 24) return undefined;
    return { width: view.getUint32(16), height: view.getUint32(20) };
  }
  // JPEG: walk the markers to the first start-of-frame (SOF0–SOF15 but DHT, JPG, DAC).
  let at = 2;
  while (at + 9 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      at += 2;
      continue;
    }
    const length = view.getUint16(at + 2);
    if (marker >= 0xc0 && marker <= 0xcf && ![0xc4, 0xc8, 0xcc].includes(marker))
      return { height: view.getUint16(at + 5), width: view.getUint16(at + 7) };
    if (length < 2) return undefined;
    at += 2 + length;
  }
  return undefined;
}

/** Refuses an image whose declared size is beyond the limits (or that declares none). */
export function checkImageSize(
  file: string,
  size: { width: number; height: number } | undefined,
): void {
  if (!size) throw tooLarge(file, 'the image header gives no size');
  const { width, height } = size;
  if (width > MAX_SCAN_SIDE_PX || height > MAX_SCAN_SIDE_PX || width * height > MAX_SCAN_PIXELS)
    throw tooLarge(file, `the image is ${width} × ${height} pixels`);
}

/** Page sizes in points of a PDF's first `maxPages` pages, read with pdfinfo. */
export function pdfPageSizes(
  file: string,
  maxPages: number,
): Promise<Array<{ width: number; height: number }>> {
  return new Promise((resolve, reject) => {
    execFile(
      'pdfinfo',
      ['-f', '1', '-l', String(maxPages), file],
      { timeout: 30_000, maxBuffer: 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
          reject(
            new VerifyError(
              'VERIFY_RASTERIZER_MISSING',
              'pdfinfo: not installed, so PDF scans cannot be read; install poppler-utils (apt install poppler-utils, brew install poppler) or scan to PNG/JPEG',
            ),
          );
          return;
        }
        if (error) {
          reject(
            new VerifyError(
              'VERIFY_RASTERIZE_FAILED',
              `${file}: pdfinfo could not read the PDF (${String(stderr).trim() || error.message}); check the file or scan to PNG/JPEG`,
            ),
          );
          return;
        }
        const sizes: Array<{ width: number; height: number }> = [];
        const unit = /^UserUnit:\s+([\d.]+)/m.exec(stdout);
        const scale = unit ? Number(unit[1]) : 1;
        for (const m of stdout.matchAll(/^Page\s+\d+\s+size:\s+([\d.]+) x ([\d.]+) pts/gm))
          sizes.push({ width: Number(m[1]) * scale, height: Number(m[2]) * scale });
        if (sizes.length === 0) {
          const one = /^Page size:\s+([\d.]+) x ([\d.]+) pts/m.exec(stdout);
          if (one) sizes.push({ width: Number(one[1]) * scale, height: Number(one[2]) * scale });
        }
        resolve(sizes);
      },
    );
  });
}

/** Refuses a PDF with a page beyond the size limits at this resolution. */
export function checkPdfPages(
  file: string,
  sizes: ReadonlyArray<{ width: number; height: number }>,
  dpi: number,
): void {
  for (const [i, page] of sizes.entries()) {
    const inchesW = page.width / 72;
    const inchesH = page.height / 72;
    const pixels = inchesW * dpi * (inchesH * dpi);
    if (
      !Number.isFinite(pixels) ||
      inchesW > MAX_PAGE_INCHES ||
      inchesH > MAX_PAGE_INCHES ||
      pixels > MAX_SCAN_PIXELS
    )
      throw tooLarge(
        file,
        `page ${i + 1} is ${inchesW.toFixed(1)} × ${inchesH.toFixed(1)} inches, too large for a piece of mail`,
      );
  }
}
