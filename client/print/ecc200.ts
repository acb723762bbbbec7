/**
 * @module print/ecc200
 * Data Matrix ECC 200 (ISO/IEC 16022) for the one symbol the indicium uses, 48 × 48 modules, at
 * native speed: the bytes as one Base256 field, pad codewords, Reed-Solomon error correction (one
 * block of 68 codewords, by a 32-bit-wide shift register), and the modules placed by a table
 * computed once. bwip-js, a general encoder in PostScript translated to JavaScript, spends
 * milliseconds a symbol; with one fixed size and one encodation the whole symbol is a few
 * thousand table look-ups and word operations (some 15–20 µs of CPU once V8 has optimized it).
 * The module matrix is the one bwip-js makes from the same codewords
 * (test/client/print/datamatrix.test.ts checks it module for module).
 */

/** Modules on each side of the symbol. */
export const ECC200_SIZE = 48;
/** Data codewords of a 48 × 48 symbol. */
const DATA_CODEWORDS = 174;
/** Error correction codewords; a 48 × 48 symbol is one Reed-Solomon block. */
const ECC_CODEWORDS = 68;
const TOTAL_CODEWORDS = DATA_CODEWORDS + ECC_CODEWORDS;
/** Bytes one Base256 field carries in the symbol: its latch and a one-codeword length first. */
export const ECC200_BASE256_CAPACITY = DATA_CODEWORDS - 2;
/** Each 22 × 22 data region sits inside a 1-module finder (left, bottom) and clock track. */
const REGION = 22;
const MAPPING = 2 * REGION;

// GF(256) with the prime polynomial x^8 + x^5 + x^3 + x^2 + 1 (301), generator α = 2.
const EXP = new Uint8Array(512);
const LOG = new Uint8Array(256);
{
  let x = 1;
  for (let i = 0; i < 255; i++) {
    EXP[i] = x;
    LOG[x] = i;
    x <<= 1;
    if (x & 0x100) x ^= 301;
  }
  for (let i = 255; i < 512; i++) EXP[i] = EXP[i - 255] as number;
}

/** log of the generator polynomial's coefficients, (x − α)(x − α²)…(x − α⁶⁸), highest first. */
const GENERATOR_LOG: Uint8Array = (() => {
  let g = [1];
  for (let i = 1; i <= ECC_CODEWORDS; i++) {
    const next = new Array<number>(g.length + 1).fill(0);
    for (let j = 0; j < g.length; j++) {
      const c = g[j] as number;
      next[j] = (next[j] as number) ^ c;
      if (c !== 0) next[j + 1] = (next[j + 1] as number) ^ (EXP[LOG[c]! + i] as number);
    }
    g = next;
  }
  // A zero coefficient has no logarithm; none of this polynomial's is zero.
  if (g.includes(0)) throw new Error('ecc200: generator polynomial has a zero coefficient');
  return Uint8Array.from(g.slice(1), (c) => LOG[c] as number);
})();

/**
 * Where each module's bit comes from, for the 48 × 48 symbol, row-major from the top left:
 * codeword index × 8 + bit (bit 0 the most significant), or FIXED_DARK / FIXED_LIGHT for the
 * finder, the clock track and the unused corner. ISO/IEC 16022 Annex F placement.
 */
const FIXED_DARK = -1;
const FIXED_LIGHT = -2;
const PLACEMENT: Int16Array = (() => {
  const nrow = MAPPING;
  const ncol = MAPPING;
  const mapping = new Int16Array(nrow * ncol).fill(FIXED_LIGHT);
  const set = new Uint8Array(nrow * ncol);
  const place = (row: number, col: number, chr: number, bit: number): void => {
    if (row < 0) {
      row += nrow;
      col += 4 - ((nrow + 4) % 8);
    }
    if (col < 0) {
      col += ncol;
      row += 4 - ((ncol + 4) % 8);
    }
    mapping[row * ncol + col] = chr * 8 + bit;
    set[row * ncol + col] = 1;
  };
  const utah = (row: number, col: number, chr: number): void => {
    place(row - 2, col - 2, chr, 0);
    place(row - 2, col - 1, chr, 1);
    place(row - 1, col - 2, chr, 2);
    place(row - 1, col - 1, chr, 3);
    place(row - 1, col, chr, 4);
    place(row, col - 2, chr, 5);
    place(row, col - 1, chr, 6);
    place(row, col, chr, 7);
  };
  const corner = (chr: number, cells: [number, number][]): void => {
    cells.forEach(([r, c], bit) => place(r, c, chr, bit));
  };
  let chr = 0;
  let row = 4;
  let col = 0;
  do {
    if (row === nrow && col === 0)
      corner(chr++, [
        [nrow - 1, 0],
        [nrow - 1, 1],
        [nrow - 1, 2],
        [0, ncol - 2],
        [0, ncol - 1],
        [1, ncol - 1],
        [2, ncol - 1],
        [3, ncol - 1],
      ]);
    if (row === nrow - 2 && col === 0 && ncol % 4 !== 0)
      corner(chr++, [
        [nrow - 3, 0],
        [nrow - 2, 0],
        [nrow - 1, 0],
        [0, ncol - 4],
        [0, ncol - 3],
        [0, ncol - 2],
        [0, ncol - 1],
        [1, ncol - 1],
      ]);
    if (row === nrow - 2 && col === 0 && ncol % 8 === 4)
      corner(chr++, [
        [nrow - 3, 0],
        [nrow - 2, 0],
        [nrow - 1, 0],
        [0, ncol - 2],
        [0, ncol - 1],
        [1, ncol - 1],
        [2, ncol - 1],
        [3, ncol - 1],
      ]);
    if (row === nrow + 4 && col === 2 && ncol % 8 === 0)
      corner(chr++, [
        [nrow - 1, 0],
        [nrow - 1, ncol - 1],
        [0, ncol - 3],
        [0, ncol - 2],
        [0, ncol - 1],
        [1, ncol - 3],
        [1, ncol - 2],
        [1, ncol - 1],
      ]);
    do {
      if (row < nrow && col >= 0 && !set[row * ncol + col]) utah(row, col, chr++);
      row -= 2;
      col += 2;
    } while (row >= 0 && col < ncol);
    row += 1;
    col += 3;
    do {
      if (row >= 0 && col < ncol && !set[row * ncol + col]) utah(row, col, chr++);
      row += 2;
      col -= 2;
    } while (row < nrow && col >= 0);
    row += 3;
    col += 1;
  } while (row < nrow || col < ncol);
  if (!set[nrow * ncol - 1]) {
    // The unused bottom-right corner: a fixed pattern of two dark modules on a diagonal.
    mapping[nrow * ncol - 1] = FIXED_DARK;
    mapping[nrow * ncol - ncol - 2] = FIXED_DARK;
  }
  if (chr !== TOTAL_CODEWORDS) throw new Error(`ecc200: placed ${chr} codewords`);

  const size = ECC200_SIZE;
  const symbol = new Int16Array(size * size);
  for (let r = 0; r < size; r++) {
    for (let c = 0; c < size; c++) {
      const rr = r % (REGION + 2);
      const cc = c % (REGION + 2);
      let v: number;
      if (cc === 0 || rr === REGION + 1)
        v = FIXED_DARK; // finder: left and bottom edges
      else if (rr === 0)
        v = cc % 2 === 0 ? FIXED_DARK : FIXED_LIGHT; // clock track, top
      else if (cc === REGION + 1)
        v = rr % 2 === 1 ? FIXED_DARK : FIXED_LIGHT; // clock, right
      else {
        const mr = Math.floor(r / (REGION + 2)) * REGION + rr - 1;
        const mc = Math.floor(c / (REGION + 2)) * REGION + cc - 1;
        v = mapping[mr * MAPPING + mc] as number;
      }
      symbol[r * size + c] = v;
    }
  }
  return symbol;
})();

/** The 255-state randomising of a Base256 codeword at 1-based position `position`. */
function randomise255(value: number, position: number): number {
  const v = value + ((149 * position) % 255) + 1;
  return v <= 255 ? v : v - 256;
}

/** The 253-state randomising of a pad codeword at 1-based position `position`. */
function randomise253(value: number, position: number): number {
  const v = value + ((149 * position) % 253) + 1;
  return v <= 254 ? v : v - 254;
}

/**
 * The data codewords for `bytes` as one Base256 field: latch (231), the length, the bytes (all but
 * the latch randomised by position), then pad codewords (129, then randomised) to fill the symbol.
 */
export function base256Codewords(bytes: Uint8Array): Uint8Array {
  if (bytes.length < 1 || bytes.length > ECC200_BASE256_CAPACITY) {
    throw new RangeError(
      `datamatrix: ${bytes.length} bytes; a 48 × 48 symbol carries 1 to ${ECC200_BASE256_CAPACITY}`,
    );
  }
  const cw = new Uint8Array(TOTAL_CODEWORDS);
  cw[0] = 231;
  cw[1] = randomise255(bytes.length, 2);
  for (let i = 0; i < bytes.length; i++) cw[i + 2] = randomise255(bytes[i] as number, i + 3);
  let n = bytes.length + 2;
  if (n < DATA_CODEWORDS) cw[n++] = 129;
  for (; n < DATA_CODEWORDS; n++) cw[n] = randomise253(129, n + 1);
  return cw;
}

/** The register's 68 bytes as 17 words of 4, the first byte of each in its top 8 bits. */
const WORDS = ECC_CODEWORDS / 4;

/** feedback × g's coefficients for every feedback byte, as 17 words (row f holds f's products). */
const GENERATOR_PRODUCTS: Int32Array = (() => {
  const table = new Int32Array(256 * WORDS);
  for (let f = 1; f < 256; f++) {
    const lf = LOG[f] as number;
    for (let k = 0; k < WORDS; k++) {
      let word = 0;
      for (let b = 0; b < 4; b++) {
        word = (word << 8) | (EXP[lf + (GENERATOR_LOG[4 * k + b] as number)] as number);
      }
      table[f * WORDS + k] = word;
    }
  }
  return table;
})();

/**
 * Writes the Reed-Solomon codewords after the data (in place): the remainder of data·x⁶⁸ ÷ g, by
 * the shift register, four bytes to a 32-bit word, so a step shifts 17 words by a byte and adds
 * (XOR) the feedback's 17-word row of products, half the operations of a byte at a time.
 */
function addErrorCorrection(cw: Uint8Array): void {
  const w = new Int32Array(WORDS);
  for (let i = 0; i < DATA_CODEWORDS; i++) {
    const feedback = (cw[i] as number) ^ ((w[0] as number) >>> 24);
    for (let k = 0; k < WORDS - 1; k++) {
      w[k] = ((w[k] as number) << 8) | ((w[k + 1] as number) >>> 24);
    }
    w[WORDS - 1] = (w[WORDS - 1] as number) << 8;
    if (feedback === 0) continue;
    const row = feedback * WORDS;
    for (let k = 0; k < WORDS; k++)
      w[k] = (w[k] as number) ^ (GENERATOR_PRODUCTS[row + k] as number);
  }
  for (let k = 0; k < WORDS; k++) {
    const word = w[k] as number;
    const at = DATA_CODEWORDS + 4 * k;
    cw[at] = word >>> 24;
    cw[at + 1] = (word >>> 16) & 0xff;
    cw[at + 2] = (word >>> 8) & 0xff;
    cw[at + 3] = word & 0xff;
  }
}

/** Bytes a packed row takes: one bit a module, the first module the top bit. */
export const ECC200_ROW_BYTES = ECC200_SIZE / 8;

/**
 * For each module, row-major: which byte of the extended codewords (the 242 codewords, then one
 * all-dark byte and one all-light byte for the fixed modules) holds its bit, and the shift that
 * brings the bit down; so packing a row is look-ups and shifts, no branch.
 */
const MODULE_BYTE = new Uint8Array(ECC200_SIZE * ECC200_SIZE);
const MODULE_SHIFT = new Uint8Array(ECC200_SIZE * ECC200_SIZE);
for (let i = 0; i < PLACEMENT.length; i++) {
  const p = PLACEMENT[i] as number;
  MODULE_BYTE[i] = p >= 0 ? p >> 3 : p === FIXED_DARK ? TOTAL_CODEWORDS : TOTAL_CODEWORDS + 1;
  MODULE_SHIFT[i] = p >= 0 ? 7 - (p & 7) : 0;
}

/**
 * The symbol for `bytes` (1 to 172, one Base256 field) as packed rows: 48 rows of 6 bytes from
 * the top, each from its left module in the top bit, 1 = dark; what a 1-bit image of it is.
 */
export function ecc200Packed(bytes: Uint8Array): Uint8Array {
  const data = base256Codewords(bytes);
  addErrorCorrection(data);
  const cw = new Uint8Array(TOTAL_CODEWORDS + 2);
  cw.set(data);
  cw[TOTAL_CODEWORDS] = 0xff; // the fixed dark modules' byte; the light ones' stays 0
  const out = new Uint8Array(ECC200_SIZE * ECC200_ROW_BYTES);
  for (let o = 0, i = 0; o < out.length; o++, i += 8) {
    out[o] =
      ((((cw[MODULE_BYTE[i] as number] as number) >> (MODULE_SHIFT[i] as number)) & 1) << 7) |
      ((((cw[MODULE_BYTE[i + 1] as number] as number) >> (MODULE_SHIFT[i + 1] as number)) & 1) <<
        6) |
      ((((cw[MODULE_BYTE[i + 2] as number] as number) >> (MODULE_SHIFT[i + 2] as number)) & 1) <<
        5) |
      ((((cw[MODULE_BYTE[i + 3] as number] as number) >> (MODULE_SHIFT[i + 3] as number)) & 1) <<
        4) |
      ((((cw[MODULE_BYTE[i + 4] as number] as number) >> (MODULE_SHIFT[i + 4] as number)) & 1) <<
        3) |
      ((((cw[MODULE_BYTE[i + 5] as number] as number) >> (MODULE_SHIFT[i + 5] as number)) & 1) <<
        2) |
      ((((cw[MODULE_BYTE[i + 6] as number] as number) >> (MODULE_SHIFT[i + 6] as number)) & 1) <<
        1) |
      (((cw[MODULE_BYTE[i + 7] as number] as number) >> (MODULE_SHIFT[i + 7] as number)) & 1);
  }
  return out;
}

/**
 * The 48 × 48 module matrix (row-major from the top left, 1 = dark) of a symbol that carries
 * `bytes` (1 to 172) as one Base256 field.
 */
export function ecc200Modules(bytes: Uint8Array): Uint8Array {
  const cw = base256Codewords(bytes);
  addErrorCorrection(cw);
  const dark = new Uint8Array(ECC200_SIZE * ECC200_SIZE);
  for (let i = 0; i < dark.length; i++) {
    const p = PLACEMENT[i] as number;
    if (p >= 0) dark[i] = ((cw[p >> 3] as number) >> (7 - (p & 7))) & 1;
    else dark[i] = p === FIXED_DARK ? 1 : 0;
  }
  return dark;
}
