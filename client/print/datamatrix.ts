/**
 * @module print/datamatrix
 * The indicium as a Data Matrix (ECC 200) symbol, always 48 × 48 (it carries the 146 bytes in any
 * encodation): ecc200.ts computes the module matrix of bytes that fit one Base256 field (1 to 172
 * bytes, which every indicium does) in some 40 µs, where bwip-js took 2–5 ms; bwip-js still
 * encodes anything else (it refuses what does not fit). The PDF renderer draws the symbol as a
 * 1-bit image mask, one sample a module; HTML and previews as SVG rectangles of the dark runs.
 */
import { createRequire } from 'node:module';
import type BwipJs from 'bwip-js/node';
import { ECC200_BASE256_CAPACITY, ecc200Modules, ecc200Packed } from './ecc200';

/** Module size on paper: 1.5 pt = 0.53 mm, about 4 pixels at 200 dpi; 48 modules = 1 inch. */
export const MODULE_PT = 1.5;
/** Modules on each side of the symbol. */
export const SYMBOL_MODULES = 48;
/** Quiet zone around the symbol, in modules (ECC 200 needs 1; scanners like more). */
export const QUIET_ZONE_MODULES = 4;

export interface ModuleMatrix {
  columns: number;
  rows: number;
  /** Row-major from the top left; 1 = dark module. */
  dark: Uint8Array;
}

/** One horizontal run of dark modules, in module units. */
export interface Run {
  row: number;
  column: number;
  length: number;
}

/** Bytes a 48 × 48 symbol carries as one Base256 field: 174 data codewords less latch and length. */
const BASE256_CAPACITY = ECC200_BASE256_CAPACITY;
const RAW_CODEWORDS = Array.from({ length: 256 }, (_, i) => `^${String(i).padStart(3, '0')}`);

/** The 255-state randomising of a Base256 codeword at 1-based position `position` (ISO 16022 5.2.9.5). */
function randomise255(value: number, position: number): number {
  const v = value + ((149 * position) % 255) + 1;
  return v <= 255 ? v : v - 256;
}

/**
 * The bwip-js options for an indicium's symbol (bwip-js encodes only what ecc200.ts does not; the
 * tests check that both give the same matrix). Bytes that fit are given as codewords (bwip-js's
 * `raw` input): one Base256 field — latch, length, the bytes — which is what binary data costs in
 * any encodation, and bwip-js then skips its encodation search (a quarter of its time) and only
 * pads, computes the Reed-Solomon ECC and places the modules. Longer input goes through
 * bwip-js's own encodation (which refuses what does not fit).
 */
export function symbolOptions(bytes: Uint8Array): {
  bcid: 'datamatrix';
  text: string;
  raw?: boolean;
  binarytext?: boolean;
  rows: number;
  columns: number;
} {
  const size = { rows: SYMBOL_MODULES, columns: SYMBOL_MODULES };
  let text = '';
  if (bytes.length > 0 && bytes.length <= BASE256_CAPACITY) {
    // Codeword 1 is the latch (231), 2 the length, 3… the bytes; all but the latch randomised.
    text = RAW_CODEWORDS[231] + (RAW_CODEWORDS[randomise255(bytes.length, 2)] as string);
    for (let i = 0; i < bytes.length; i++) {
      text += RAW_CODEWORDS[randomise255(bytes[i] as number, i + 3)] as string;
    }
    return { bcid: 'datamatrix', text, raw: true, ...size };
  }
  for (const b of bytes) text += String.fromCharCode(b);
  return { bcid: 'datamatrix', text, binarytext: true, ...size };
}

let bwip: typeof BwipJs | undefined;
/** bwip-js, loaded on first use: a large module that an indicium never needs. */
function bwipjs(): typeof BwipJs {
  bwip ??= createRequire(import.meta.url)('bwip-js/node') as typeof BwipJs;
  return bwip;
}

/** Encodes bytes as a Data Matrix ECC 200 module matrix. */
export function dataMatrixModules(bytes: Uint8Array): ModuleMatrix {
  // A fixed 48 × 48 symbol (174 data codewords, room for 146 bytes in any encodation), so every
  // indicium has the same size on paper and the layout does not depend on the data.
  if (bytes.length > 0 && bytes.length <= BASE256_CAPACITY) {
    return { columns: SYMBOL_MODULES, rows: SYMBOL_MODULES, dark: ecc200Modules(bytes) };
  }
  const [symbol] = bwipjs().raw(symbolOptions(bytes));
  if (!symbol || !('pixs' in symbol)) throw new Error('datamatrix: bwip-js returned no matrix');
  if (symbol.pixx !== SYMBOL_MODULES || symbol.pixy !== SYMBOL_MODULES) {
    throw new Error(`datamatrix: expected a 48 × 48 symbol, got ${symbol.pixx} × ${symbol.pixy}`);
  }
  return { columns: symbol.pixx, rows: symbol.pixy, dark: Uint8Array.from(symbol.pixs) };
}

/** Dark modules merged into horizontal runs, so a symbol is a few hundred rectangles. */
export function darkRuns(matrix: ModuleMatrix): Run[] {
  const runs: Run[] = [];
  for (let row = 0; row < matrix.rows; row++) {
    let start = -1;
    for (let column = 0; column <= matrix.columns; column++) {
      const on = column < matrix.columns && matrix.dark[row * matrix.columns + column] === 1;
      if (on && start < 0) start = column;
      if (!on && start >= 0) {
        runs.push({ row, column: start, length: column - start });
        start = -1;
      }
    }
  }
  return runs;
}

/** What ends an inline image: the hex data's end mark, then EI. */
const IMAGE_END = '>\nEI\n';

/** The modules as packed rows (each row whole bytes, the left module in the top bit, 1 = dark). */
function packRows(matrix: ModuleMatrix): Uint8Array {
  const { columns, rows, dark } = matrix;
  const rowBytes = Math.ceil(columns / 8);
  const out = new Uint8Array(rows * rowBytes);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      if (dark[row * columns + column] === 1) {
        const at = row * rowBytes + (column >> 3);
        out[at] = (out[at] as number) | (0x80 >> (column & 7));
      }
    }
  }
  return out;
}

function imageText(
  columns: number,
  rows: number,
  packed: Uint8Array,
  prefix: string,
  suffix: string,
): string {
  return (
    `${prefix}BI /W ${columns} /H ${rows} /IM true /BPC 1 /D [1 0] /F /AHx ID\n` +
    `${Buffer.from(packed.buffer, packed.byteOffset, packed.byteLength).toString('hex')}${IMAGE_END}${suffix}`
  );
}

/**
 * The symbol as a PDF inline image mask, between `prefix` (which sets the fill colour and scales
 * the unit square to the symbol) and `suffix`: one bit a module, dark = 1 paints (`/D [1 0]`),
 * row by row from the top, in ASCII hex (`/F /AHx`, so no reader can mistake data for the `EI`
 * that ends it; 577 bytes for 48 × 48). Each module is one image sample, so a scale of whole
 * device pixels a module gives whole-pixel squares, and the page carries no path to compress.
 * As text (ASCII), for a content stream built as a string.
 */
export function symbolImageText(matrix: ModuleMatrix, prefix = '', suffix = ''): string {
  return imageText(matrix.columns, matrix.rows, packRows(matrix), prefix, suffix);
}

/** `symbolImageText` as bytes. */
export function symbolImageBytes(matrix: ModuleMatrix, prefix = '', suffix = ''): Buffer {
  return Buffer.from(symbolImageText(matrix, prefix, suffix), 'latin1');
}

/**
 * `symbolImageText` of the indicium's symbol, straight from its codewords to packed rows when
 * the bytes fit one Base256 field (every indicium does): no module matrix in between.
 */
export function indiciumImageText(bytes: Uint8Array, prefix = '', suffix = ''): string {
  if (bytes.length > 0 && bytes.length <= BASE256_CAPACITY) {
    return imageText(SYMBOL_MODULES, SYMBOL_MODULES, ecc200Packed(bytes), prefix, suffix);
  }
  return symbolImageText(dataMatrixModules(bytes), prefix, suffix);
}

/** `indiciumImageText` as bytes. */
export function indiciumImageBytes(bytes: Uint8Array, prefix = '', suffix = ''): Buffer {
  return Buffer.from(indiciumImageText(bytes, prefix, suffix), 'latin1');
}

/**
 * The dark runs as SVG path data in module units, one closed rectangle per run, shifted by
 * `offset` modules: the modules the PDF's image mask paints, for the HTML print and previews.
 */
export function symbolSvgPath(matrix: ModuleMatrix, offset = 0): string {
  let path = '';
  for (const r of darkRuns(matrix)) {
    path += `M${r.column + offset} ${r.row + offset}h${r.length}v1h-${r.length}z`;
  }
  return path;
}

/** An SVG image of the symbol with its quiet zone, for on-screen preview. */
export function dataMatrixSvg(bytes: Uint8Array, moduleSize = 4): string {
  const matrix = dataMatrixModules(bytes);
  const q = QUIET_ZONE_MODULES;
  const w = matrix.columns + 2 * q;
  const h = matrix.rows + 2 * q;
  const path = symbolSvgPath(matrix, q);
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w * moduleSize}" height="${h * moduleSize}" ` +
    `viewBox="0 0 ${w} ${h}" shape-rendering="crispEdges">` +
    `<rect width="${w}" height="${h}" fill="#fff"/><path d="${path}" fill="#000"/></svg>`
  );
}
