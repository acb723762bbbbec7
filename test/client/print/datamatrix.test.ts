/**
 * Tests of the Data Matrix encoding (client/print/datamatrix.ts, ecc200.ts): the native encoder's
 * matrix is module for module the one bwip-js makes from the same Base256 codewords, and decodes
 * back to exactly the bytes with zxing-wasm and with dmtxread, for indicia and for every length
 * that fits the 48 × 48 symbol; longer or empty input is refused as before.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import bwipjs from 'bwip-js/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import {
  dataMatrixModules,
  indiciumImageBytes,
  symbolImageBytes,
  symbolOptions,
  type ModuleMatrix,
} from '../../../client/print';
import { base256Codewords } from '../../../client/print/ecc200';

beforeAll(async () => {
  const path = createRequire(import.meta.url).resolve('zxing-wasm/reader/zxing_reader.wasm');
  const wasm = await readFile(path);
  await prepareZXingModule({
    overrides: {
      wasmBinary: wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength),
      locateFile: () => path,
    },
    fireImmediately: true,
  });
});

/** An RGBA image of the matrix, 4 pixels a module, with a 4-module quiet zone. */
function image(matrix: ModuleMatrix): { data: Uint8ClampedArray; width: number; height: number } {
  const px = 4;
  const q = 4;
  const width = (matrix.columns + 2 * q) * px;
  const height = (matrix.rows + 2 * q) * px;
  const data = new Uint8ClampedArray(width * height * 4).fill(255);
  for (let r = 0; r < matrix.rows; r++) {
    for (let c = 0; c < matrix.columns; c++) {
      if (matrix.dark[r * matrix.columns + c] !== 1) continue;
      for (let y = 0; y < px; y++) {
        const start = (((r + q) * px + y) * width + (c + q) * px) * 4;
        data.fill(0, start, start + px * 4);
        for (let x = 0; x < px; x++) data[start + x * 4 + 3] = 255;
      }
    }
  }
  return { data, width, height };
}

/** A PGM (P5) image of the matrix, 4 pixels a module, with a 4-module quiet zone, for dmtxread. */
function pgm(matrix: ModuleMatrix): Buffer {
  const px = 4;
  const q = 4;
  const width = (matrix.columns + 2 * q) * px;
  const data = Buffer.alloc(width * (matrix.rows + 2 * q) * px, 255);
  for (let r = 0; r < matrix.rows; r++) {
    for (let c = 0; c < matrix.columns; c++) {
      if (matrix.dark[r * matrix.columns + c] !== 1) continue;
      for (let y = 0; y < px; y++) {
        const start = ((r + q) * px + y) * width + (c + q) * px;
        data.fill(0, start, start + px);
      }
    }
  }
  return Buffer.concat([Buffer.from(`P5\n${width} ${data.length / width}\n255\n`), data]);
}

/** Every length that fits, and indicium-sized payloads: random, all zero, all one. */
function payloads(): Uint8Array[] {
  return [
    ...Array.from({ length: 20 }, () => randomBytes(146)),
    ...Array.from({ length: 172 }, (_, i) => randomBytes(i + 1)),
    new Uint8Array(146),
    new Uint8Array(146).fill(255),
  ].map((b) => new Uint8Array(b));
}

async function decode(matrix: ModuleMatrix): Promise<string | undefined> {
  const img = image(matrix) as unknown as Parameters<typeof readBarcodes>[0];
  const [result] = await readBarcodes(img, { formats: ['DataMatrix'], tryHarder: false });
  return result?.isValid ? Buffer.from(result.bytes).toString('hex') : undefined;
}

describe('dataMatrixModules()', () => {
  it('gives bwip-js the bytes as one Base256 field of raw codewords', () => {
    const options = symbolOptions(new Uint8Array([0, 255, 65]));
    expect(options).toMatchObject({ bcid: 'datamatrix', raw: true, rows: 48, columns: 48 });
    // Latch 231, then the length and each byte with the 255-state randomising of its position.
    expect(options.text).toBe('^231^047^193^086^045');
  });

  it('makes the matrix bwip-js makes from the same codewords, for every length that fits', () => {
    for (const bytes of payloads()) {
      const [symbol] = bwipjs.raw(symbolOptions(bytes));
      if (!symbol || !('pixs' in symbol)) throw new Error('bwip-js returned no matrix');
      expect(dataMatrixModules(bytes), `${bytes.length} bytes`).toEqual({
        columns: 48,
        rows: 48,
        dark: Uint8Array.from(symbol.pixs),
      });
    }
  });

  it('decodes to exactly the bytes with dmtxread, for every length that fits', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vpm-dmtx-'));
    try {
      const inputs = payloads();
      const files = await Promise.all(
        inputs.map(async (bytes, i) => {
          const file = join(dir, `${i}.pgm`);
          await writeFile(file, pgm(dataMatrixModules(bytes)));
          return file;
        }),
      );
      // One run over every image, in order: dmtxread prints each symbol's bytes as they are,
      // one after the other, so the output must be exactly the payloads concatenated.
      const { stdout } = await promisify(execFile)('dmtxread', ['-N1', '-m', '20000', ...files], {
        encoding: 'buffer',
        maxBuffer: 1 << 24,
        timeout: 240_000,
      });
      expect(stdout.toString('hex')).toBe(Buffer.concat(inputs).toString('hex'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);

  it('decodes to exactly the bytes with zxing, for 146-byte indicia and every length that fits', async () => {
    for (const bytes of payloads()) {
      const matrix = dataMatrixModules(new Uint8Array(bytes));
      expect([matrix.columns, matrix.rows]).toEqual([48, 48]);
      expect(await decode(matrix), `${bytes.length} bytes`).toBe(
        Buffer.from(bytes).toString('hex'),
      );
    }
  });

  it('writes the PDF image of an indicium straight from its codewords, as from its module matrix', () => {
    // The renderer's path (codewords to packed rows) and the generic one (matrix to rows) agree
    // for every length that fits; beyond it both refuse (no 48 × 48 symbol holds it).
    for (const bytes of [...payloads(), randomBytes(200)]) {
      const b = new Uint8Array(bytes);
      if (b.length > 172) {
        expect(() => indiciumImageBytes(b)).toThrow();
        expect(() => dataMatrixModules(b)).toThrow();
        continue;
      }
      expect(indiciumImageBytes(b, 'q\n', 'Q\n').toString('latin1'), `${b.length} bytes`).toBe(
        symbolImageBytes(dataMatrixModules(b), 'q\n', 'Q\n').toString('latin1'),
      );
    }
  });

  it('refuses bytes that do not fit a 48 × 48 symbol', () => {
    // 173 bytes, all above 127: two codewords each in ASCII, 175 in base 256, so no encodation
    // fits 174 (random bytes fit about once in 180 tries, through runs bwip-js packs tighter).
    const tooMany = new Uint8Array(173).map((_, i) => 128 + ((i * 37) % 128));
    expect(() => dataMatrixModules(tooMany)).toThrow(/datamatrix/i);
    expect(() => dataMatrixModules(new Uint8Array(0))).toThrow();
    expect(() => base256Codewords(new Uint8Array(173))).toThrow(/1 to 172/);
    expect(() => base256Codewords(new Uint8Array(0))).toThrow(/1 to 172/);
  });

  it('pads with 129, then the 253-state randomised pad, to 174 data codewords', () => {
    const cw = base256Codewords(new Uint8Array([0, 255, 65]));
    // Positions 7 and 8: 129 + (149 × p mod 253) + 1, less 254 when above 254.
    expect([...cw.subarray(0, 8)]).toEqual([231, 47, 193, 86, 45, 129, 161, 56]);
    expect(base256Codewords(new Uint8Array(171).fill(7))[173]).toBe(129); // one pad, plain
  });
});
