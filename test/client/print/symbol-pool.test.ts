import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { dataMatrixModules } from '../../../client/print/datamatrix';
import { SymbolPool, withSymbols } from '../../../client/print/symbol-pool';
import type { PrintPiece } from '../../../client/print/render';

const pool = new SymbolPool(2);
afterAll(() => pool.close());

describe('SymbolPool', () => {
  it('encodes in worker threads exactly what the renderer encodes itself', async () => {
    const bytes = new Uint8Array(randomBytes(146));
    const fromPool = await pool.encode(bytes);
    expect(fromPool).toEqual(dataMatrixModules(bytes));
  });

  it('yields the pieces in their order, each with its own symbol', async () => {
    const recipient = { name: 'A', street: '1 St', city: 'C', state: 'IL', zip: '62701' };
    const pieces: PrintPiece[] = Array.from({ length: 20 }, () => ({
      indicium: new Uint8Array(randomBytes(146)),
      recipient,
    }));
    const out: PrintPiece[] = [];
    for await (const piece of withSymbols(pieces, pool, 4)) out.push(piece);
    expect(out.map((p) => p.indicium)).toEqual(pieces.map((p) => p.indicium));
    for (const piece of out) expect(piece.symbol).toEqual(dataMatrixModules(piece.indicium));
  });
});
