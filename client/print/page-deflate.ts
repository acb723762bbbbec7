/**
 * @module print/page-deflate
 * Compression of the pages' content streams (zlib level 1, some 8 KB each, mostly the symbol's
 * path). A call to zlib costs some 0.1 ms, most of it setting up the stream, and is the largest
 * single cost of a page; so once a batch is longer than a few pages, the pages are compressed on
 * a thread of their own while the next ones are drawn, in order. A short print (one piece, a
 * reprint) never starts the thread.
 */
import { availableParallelism, loadavg } from 'node:os';
import { Worker } from 'node:worker_threads';
import { deflateSync } from 'node:zlib';

/** Pages compressed on the calling thread before the thread is started. */
const SYNC_PAGES = 16;

/**
 * Whether a thread would run on a core of its own: more than one core, and fewer runnable
 * processes than cores (the last minute's load average). On a busy machine the thread only takes
 * turns with the drawing, and messages to it cost more than they save.
 */
function idleCore(): boolean {
  const cores = availableParallelism();
  return cores > 1 && (loadavg()[0] as number) < cores - 0.5;
}

/** The thread: compresses what it is sent, in order, and sends it back with its number. */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { deflateSync } = require('node:zlib');
parentPort.on('message', ({ id, data }) => {
  try {
    parentPort.postMessage({ id, out: deflateSync(data, { level: 1 }) });
  } catch (error) {
    parentPort.postMessage({ id, error: String((error && error.message) || error) });
  }
});
`;

interface Waiting {
  resolve(out: Buffer): void;
  reject(error: Error): void;
}

export class PageDeflater {
  private worker?: Worker;
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 0;
  private pages = 0;
  private failure?: Error;
  private idle?: { below: number; resolve(): void };
  private readonly offload: boolean;

  /** `offload`: use the thread for long batches (by default when a core is idle). */
  constructor(offload = idleCore()) {
    this.offload = offload;
  }

  /** Compresses one page's content: at once for the first pages, then on the thread. */
  deflate(data: Buffer): Buffer | Promise<Buffer> {
    this.pages += 1;
    if (!this.offload || this.pages <= SYNC_PAGES) return deflateSync(data, { level: 1 });
    if (this.failure) return Promise.reject(this.failure);
    const worker = (this.worker ??= this.start());
    const id = this.nextId++;
    return new Promise<Buffer>((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      worker.postMessage({ id, data });
    });
  }

  /** Pages sent to the thread and not yet back. */
  get inFlight(): number {
    return this.waiting.size;
  }

  /** Settles when fewer than `count` pages are in flight (so memory stays bounded). */
  below(count: number): Promise<void> {
    if (this.waiting.size < count || this.failure) return Promise.resolve();
    return new Promise((resolve) => {
      this.idle = { below: count, resolve };
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }

  private start(): Worker {
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (m: { id: number; out?: Uint8Array; error?: string }) => {
      const waiting = this.waiting.get(m.id);
      if (!waiting) return;
      this.waiting.delete(m.id);
      if (m.out) waiting.resolve(Buffer.from(m.out.buffer, m.out.byteOffset, m.out.byteLength));
      else waiting.reject(new Error(`print: compressing a page failed: ${String(m.error)}`));
      this.wake();
    });
    const fail = (error: Error) => {
      this.failure ??= error;
      for (const w of this.waiting.values()) w.reject(this.failure);
      this.waiting.clear();
      this.wake();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.worker === worker)
        fail(new Error(`print: the compression thread stopped (${code})`));
    });
    return worker;
  }

  private wake(): void {
    if (this.idle && (this.waiting.size < this.idle.below || this.failure)) {
      const { resolve } = this.idle;
      this.idle = undefined;
      resolve();
    }
  }
}
