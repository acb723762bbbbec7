/**
 * @module print/symbol-pool
 * Data Matrix encoding in parallel. bwip-js takes a few milliseconds per symbol, most of a large
 * batch's time; a pool of worker threads encodes the pieces ahead of the PDF writer, in order,
 * with a bounded look-ahead so memory stays flat however long the batch is.
 */
import { availableParallelism } from 'node:os';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { SYMBOL_MODULES, symbolOptions, type ModuleMatrix } from './datamatrix';
import type { PrintPiece } from './render';

// The worker is plain CommonJS so it runs without a TypeScript loader (CLI, tests, Electron).
// Until its first piece arrives it encodes a sample symbol now and then: the first symbols in a
// fresh thread cost several times the others while V8 compiles bwip-js, and a batch starts with
// the pool idle, waiting for the CSV check and the first purchase.
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const bwipjs = require(workerData.bwip);
let warmup = workerData.warmup;
const warm = () => {
  if (warmup-- <= 0) return;
  bwipjs.raw(workerData.sample);
  setImmediate(warm);
};
setImmediate(warm);
parentPort.on('message', ({ id, options }) => {
  warmup = 0;
  try {
    const [symbol] = bwipjs.raw(options);
    const dark = Uint8Array.from(symbol.pixs);
    parentPort.postMessage({ id, columns: symbol.pixx, rows: symbol.pixy, dark }, [dark.buffer]);
  } catch (error) {
    parentPort.postMessage({ id, error: String(error && error.message || error) });
  }
});
`;

/** Sample symbols a fresh worker encodes at most before its first piece. */
const WARMUP_SYMBOLS = 16;
const WARMUP_SAMPLE = Uint8Array.from({ length: 146 }, (_, i) => (i * 151 + 7) & 0xff);

interface Answer {
  id: number;
  columns?: number;
  rows?: number;
  dark?: Uint8Array;
  error?: string;
}

export class SymbolPool {
  private readonly workers: Worker[];
  private readonly waiting = new Map<
    number,
    { resolve(m: ModuleMatrix): void; reject(e: Error): void }
  >();
  private next = 0;

  constructor(threads = Math.max(1, Math.min(4, availableParallelism()))) {
    const bwip = createRequire(import.meta.url).resolve('bwip-js/node');
    this.workers = Array.from({ length: threads }, () => {
      const worker = new Worker(WORKER_SOURCE, {
        eval: true,
        workerData: { bwip, sample: symbolOptions(WARMUP_SAMPLE), warmup: WARMUP_SYMBOLS },
      });
      worker.on('message', (a: Answer) => {
        const w = this.waiting.get(a.id);
        if (!w) return;
        this.waiting.delete(a.id);
        if (a.error || !a.dark) w.reject(new Error(`datamatrix: ${a.error ?? 'no matrix'}`));
        else if (a.columns !== SYMBOL_MODULES || a.rows !== SYMBOL_MODULES)
          w.reject(
            new Error(`datamatrix: expected a 48 × 48 symbol, got ${a.columns} × ${a.rows}`),
          );
        else w.resolve({ columns: a.columns, rows: a.rows, dark: a.dark });
      });
      worker.on('error', (error) => {
        for (const w of this.waiting.values()) w.reject(error);
        this.waiting.clear();
      });
      return worker;
    });
  }

  encode(bytes: Uint8Array): Promise<ModuleMatrix> {
    const id = this.next++;
    const worker = this.workers[id % this.workers.length] as Worker;
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, options: symbolOptions(bytes) });
    });
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * Yields the pieces in order, each with its symbol already encoded by the pool, keeping at most
 * `ahead` pieces in flight.
 */
export async function* withSymbols(
  pieces: AsyncIterable<PrintPiece> | Iterable<PrintPiece>,
  pool: SymbolPool,
  ahead = 64,
): AsyncGenerator<PrintPiece> {
  const queue: Promise<PrintPiece>[] = [];
  for await (const piece of pieces) {
    queue.push(pool.encode(piece.indicium).then((symbol) => ({ ...piece, symbol })));
    if (queue.length >= ahead) yield await (queue.shift() as Promise<PrintPiece>);
  }
  while (queue.length > 0) yield await (queue.shift() as Promise<PrintPiece>);
}
