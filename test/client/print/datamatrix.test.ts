/**
 * Tests of the Data Matrix encoding (client/print/datamatrix.ts): bytes given to bwip-js as one
 * Base256 field decode back exactly (zxing-wasm on an image of the module matrix), for indicia
 * and for any length that fits the 48 × 48 symbol; longer input is refused as before.
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareZXingModule, readBarcodes } from 'zxing-wasm/reader';
import { dataMatrixModules, symbolOptions, type ModuleMatrix } from '../../../client/print';

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

  it('decodes to exactly the bytes, for 146-byte indicia and every length that fits', async () => {
    const inputs = [
      ...Array.from({ length: 40 }, () => randomBytes(146)),
      ...Array.from({ length: 172 }, (_, i) => randomBytes(i + 1)),
      new Uint8Array(146), // all zero
      new Uint8Array(146).fill(255),
    ];
    for (const bytes of inputs) {
      const matrix = dataMatrixModules(new Uint8Array(bytes));
      expect([matrix.columns, matrix.rows]).toEqual([48, 48]);
      expect(await decode(matrix), `${bytes.length} bytes`).toBe(
        Buffer.from(bytes).toString('hex'),
      );
    }
  });

  it('refuses bytes that do not fit a 48 × 48 symbol', () => {
    expect(() => dataMatrixModules(new Uint8Array(randomBytes(173)))).toThrow(/datamatrix/i);
    expect(() => dataMatrixModules(new Uint8Array(0))).toThrow();
  });
});
