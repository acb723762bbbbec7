/**
 * Tests of the pages' compression (client/print/page-deflate.ts): a long batch's first pages are
 * compressed at once and the rest on a thread of its own, each to exactly what zlib gives, and
 * without the thread every page is compressed at once. render.test.ts checks the same file comes
 * out either way; this checks that the thread is the one that did the work.
 */
import { randomBytes } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { PageDeflater } from '../../../client/print/page-deflate';

/** A page's content: text operators, some of them different on every page. */
const page = (i: number): Buffer =>
  Buffer.from(
    `q 1 0 0 1 ${i} 0 cm BT /F1 9 Tf (${randomBytes(64).toString('hex')}) Tj ET Q\n`.repeat(40),
    'latin1',
  );

describe('page compression', () => {
  let deflater: PageDeflater | undefined;
  afterEach(async () => {
    await deflater?.close();
    deflater = undefined;
  });

  it('compresses the first 16 pages at once and the rest on its thread, in order', async () => {
    deflater = new PageDeflater(true);
    const pages = Array.from({ length: 24 }, (_, i) => page(i));
    const results = pages.map((p) => (deflater as PageDeflater).deflate(p));
    // At once: a Buffer. On the thread: a promise, still in flight when it is returned.
    expect(results.slice(0, 16).every((r) => Buffer.isBuffer(r))).toBe(true);
    expect(results.slice(16).every((r) => r instanceof Promise)).toBe(true);
    expect(deflater.inFlight).toBe(8);
    const out = await Promise.all(results);
    expect(deflater.inFlight).toBe(0);
    out.forEach((bytes, i) => expect(inflateSync(bytes).equals(pages[i] as Buffer)).toBe(true));
    // Each page's own stream, not one stream cut in pieces.
    expect(out.every((bytes, i) => bytes.length < (pages[i] as Buffer).length)).toBe(true);
  });

  it('waits with below() until fewer pages than asked are in flight', async () => {
    deflater = new PageDeflater(true);
    for (let i = 0; i < 16; i++) deflater.deflate(page(i));
    const inFlight = Array.from({ length: 6 }, (_, i) =>
      (deflater as PageDeflater).deflate(page(i)),
    );
    expect(deflater.inFlight).toBe(6);
    await deflater.below(2);
    expect(deflater.inFlight).toBeLessThan(2);
    await Promise.all(inFlight);
  });

  it('compresses every page at once when the thread is not wanted', async () => {
    deflater = new PageDeflater(false);
    const pages = Array.from({ length: 24 }, (_, i) => page(i));
    for (const p of pages) {
      const out = deflater.deflate(p);
      expect(Buffer.isBuffer(out)).toBe(true);
      expect(inflateSync(out as Buffer).equals(p)).toBe(true);
    }
    expect(deflater.inFlight).toBe(0);
  });
});
