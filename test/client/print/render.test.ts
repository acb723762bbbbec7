/**
 * Tests of the renderer (client/print/render.ts, layout.ts, media.ts): exact page sizes for every
 * medium (pdfinfo), vector symbol, human-readable block from the decoded indicium, demo marking,
 * clear zone, calibration, refusals, and a 1,000-piece batch streamed into one PDF.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { inflateSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MEDIA,
  MEDIUM_IDS,
  PrintError,
  SAMPLE_TEXT,
  dataMatrixModules,
  dataMatrixSvg,
  layoutPiece,
  mediumById,
  postageText,
  renderPieces,
  renderToFile,
  symbolImageBytes,
  type Box,
  type PrintPiece,
} from '../../../client/print';
import { formatDollars } from '../../../shared/money';
import { makeTrackingNumber } from '../../../shared/tracking';
import { makePki, type Meter } from '../../fixtures/indicium/meter-pki';
import { RETURN_ADDRESS, dmtxHex, pdfInfo, pieceFor, rasterize, run } from './helpers';

let dir: string;
let meter: Meter;
let piece: PrintPiece;
let demo: PrintPiece;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-render-test-'));
  const pki = await makePki();
  meter = pki.meters[0] as Meter;
  piece = await pieceFor(meter, { postageCents: 73, mailingDate: '2026-11-25' });
  demo = await pieceFor(meter, { demo: true, postageCents: 68 });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const inside = (inner: Box, outer: Box): boolean =>
  inner.x >= outer.x - 1e-9 &&
  inner.y >= outer.y - 1e-9 &&
  inner.x + inner.width <= outer.x + outer.width + 1e-9 &&
  inner.y + inner.height <= outer.y + outer.height + 1e-9;
const overlaps = (a: Box, b: Box): boolean =>
  a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

/** The pages' content streams that draw text (not the templates'), inflated where compressed. */
function pageContents(pdf: Buffer): string[] {
  return [...pdf.toString('latin1').matchAll(/<<\n([^]*?)>>\nstream\n([^]*?)\nendstream/g)]
    .filter((m) => !(m[1] ?? '').includes('/Subtype /Form'))
    .map((m) => {
      const data = Buffer.from(m[2] ?? '', 'latin1');
      return ((m[1] ?? '').includes('/FlateDecode') ? inflateSync(data) : data).toString('latin1');
    })
    .filter((c) => c.includes(' Tf'));
}

async function text(pdf: string): Promise<string> {
  return (await run('pdftotext', ['-layout', pdf, '-'])).stdout.toString('utf8');
}

describe('media catalogue', () => {
  const expected: Record<string, [number, number]> = {
    env10: [684, 297],
    env9: [639, 279],
    'env6-3-4': [468, 261],
    env6x9: [648, 432],
    env9x12: [864, 648],
    c5: [(229 * 72) / 25.4, (162 * 72) / 25.4],
    dl: [(220 * 72) / 25.4, (110 * 72) / 25.4],
    label4x6: [288, 432],
    sheet2x4x6: [612, 792],
  };

  it('has exact sizes; envelopes landscape, labels and the sheet portrait', () => {
    expect([...MEDIUM_IDS].sort()).toEqual(Object.keys(expected).sort());
    for (const id of MEDIUM_IDS) {
      const m = MEDIA[id];
      expect([m.width, m.height]).toEqual(expected[id]);
      expect(m.orientation).toBe(m.kind === 'envelope' ? 'landscape' : 'portrait');
      expect(m.width > m.height).toBe(m.kind === 'envelope');
    }
  });

  it('refuses an unknown medium id, naming the known ones', () => {
    expect(() => mediumById('a4')).toThrow(PrintError);
    expect(() => mediumById('a4')).toThrow(/env10/);
  });

  it('keeps the clear zone free and every block on the piece, for every slot', () => {
    for (const id of MEDIUM_IDS) {
      const medium = MEDIA[id];
      for (const slot of medium.slots) {
        const l = layoutPiece(medium, slot);
        const piece: Box = { x: 0, y: 0, width: slot.width, height: slot.height };
        for (const box of [l.symbol, l.humanReadable, l.returnAddress, l.recipient, l.sampleBanner])
          expect(inside(box, piece), `${id}`).toBe(true);
        expect(inside(l.symbol, l.indicium)).toBe(true);
        expect(inside(l.humanReadable, l.indicium)).toBe(true);
        for (const other of [l.returnAddress, l.recipient, l.sampleBanner])
          expect(overlaps(other, l.clearZone), `${id}`).toBe(false);
        // Upper right: the symbol lies in the upper-right quarter of the piece.
        expect(l.symbol.x).toBeGreaterThanOrEqual(slot.width / 2);
        expect(l.symbol.y + l.symbol.height).toBeLessThanOrEqual(slot.height / 2);
        // Half an inch clear to the left of and below the indicium.
        expect(l.indicium.x - l.clearZone.x).toBeCloseTo(36);
        expect(l.clearZone.y + l.clearZone.height - (l.indicium.y + l.indicium.height)).toBe(36);
        expect(l.recipient.height).toBeGreaterThan(40);
      }
    }
    const [left, right] = MEDIA.sheet2x4x6.slots;
    expect(left && right && overlaps(left, right)).toBe(false);
  });
});

describe('renderPieces()', () => {
  it('makes the PDF page exactly the medium for every medium', async () => {
    for (const id of MEDIUM_IDS) {
      const file = join(dir, `${id}.pdf`);
      const result = await renderToFile(
        [piece],
        { media: id, returnAddress: RETURN_ADDRESS },
        file,
      );
      expect(result).toEqual({ pages: 1, pieces: 1 });
      const info = await pdfInfo(file);
      expect(info.pages).toBe(1);
      const [w, h] = info.sizes[0] ?? [0, 0];
      expect(w, id).toBeCloseTo(MEDIA[id].width, 2);
      expect(h, id).toBeCloseTo(MEDIA[id].height, 2);
    }
  });

  it('draws the symbol as one 1-bit image mask, one sample a module, an inch square', async () => {
    const file = join(dir, 'mask.pdf');
    await renderToFile([piece], { media: 'env10' }, file);
    const images = (await run('pdfimages', ['-list', file])).stdout.toString().trim().split('\n');
    expect(images.length).toBe(3); // the header lines and the symbol
    // page num type width height color comp bpc enc interp object ID x-ppi y-ppi
    const [, , type, width, height, , , bpc, , interp, , x, y] = (images[2] ?? '')
      .trim()
      .split(/\s+/);
    expect({ type, width, height, bpc, interp, x, y }).toEqual({
      type: 'stencil',
      width: '48',
      height: '48',
      bpc: '1',
      interp: 'no',
      x: '48', // 48 samples an inch: 1.5 pt a module, as MODULE_PT says
      y: '48',
    });
  });

  it('writes exactly the dark modules as the samples that paint, row by row from the top', () => {
    const matrix = dataMatrixModules(piece.indicium);
    const bytes = symbolImageBytes(matrix).toString('latin1');
    const m =
      /^BI \/W 48 \/H 48 \/IM true \/BPC 1 \/D \[1 0\] \/F \/AHx ID\n([0-9a-f]+)>\nEI\n$/.exec(
        bytes,
      );
    expect(m).not.toBeNull();
    const data = Buffer.from(m?.[1] ?? '', 'hex');
    expect(data.length).toBe(48 * 6);
    const painted = Uint8Array.from({ length: 48 * 48 }, (_, i) => {
      const [row, column] = [Math.floor(i / 48), i % 48];
      return ((data[row * 6 + (column >> 3)] ?? 0) >> (7 - (column & 7))) & 1;
    });
    expect(painted).toEqual(matrix.dark);
    // An odd width pads each row to whole bytes with samples that do not paint.
    const odd = { columns: 3, rows: 2, dark: Uint8Array.from([1, 0, 1, 0, 1, 1]) };
    expect(symbolImageBytes(odd).toString('latin1')).toContain('/W 3 /H 2 ');
    expect(symbolImageBytes(odd).toString('latin1')).toContain('ID\na060>\nEI\n');
  });

  it('prints the human-readable block from the decoded indicium', async () => {
    const file = join(dir, 'human.pdf');
    await renderToFile([piece], { media: 'env10', returnAddress: RETURN_ADDRESS }, file);
    const t = await text(file);
    for (const expected of [
      'US POSTAGE',
      '$0.73',
      'First-Class Mail',
      'Mailed 2026-11-25',
      'From ZIP 20260',
      `Meter ${meter.deviceId}`,
      'ADA LOVELACE',
      'ALAMEDA CA 94501-3301',
      'CHARLES BABBAGE',
      'DIFFERENCE ENGINES LTD',
    ]) {
      expect(t).toContain(expected);
    }
    expect(t).not.toContain('SAMPLE');
  });

  it('marks a demo piece SAMPLE — NOT VALID POSTAGE, beside the indicium and across the piece', async () => {
    const file = join(dir, 'demo.pdf');
    await renderToFile([demo], { media: 'env10' }, file);
    const t = await text(file);
    expect(t.split(SAMPLE_TEXT).length - 1).toBe(2);
    expect(t).toContain('$0.68');
  });

  it('encodes the indicium bytes exactly (dmtxread, 200 dpi)', async () => {
    const file = join(dir, 'bytes.pdf');
    await renderToFile([piece], { media: 'label4x6' }, file);
    const png = await rasterize(file, join(dir, 'bytes'));
    expect(await dmtxHex(png)).toBe(hex(piece.indicium));
  });

  it('moves everything by the calibration offsets', async () => {
    const at = async (name: string, calibration?: { xMm: number; yMm: number }) => {
      const file = join(dir, `${name}.pdf`);
      await renderToFile(
        [piece],
        { media: 'env10', ...(calibration ? { calibration } : {}) },
        file,
      );
      const html = (await run('pdftotext', ['-bbox', file, '-'])).stdout.toString();
      const m = /<word xMin="([\d.]+)" yMin="([\d.]+)"[^>]*>US<\/word>/.exec(html);
      return [Number(m?.[1]), Number(m?.[2])];
    };
    const [x0, y0] = await at('cal0');
    const [x1, y1] = await at('cal1', { xMm: 10, yMm: -5 });
    expect((x1 ?? 0) - (x0 ?? 0)).toBeCloseTo((10 * 72) / 25.4, 1);
    expect((y1 ?? 0) - (y0 ?? 0)).toBeCloseTo((-5 * 72) / 25.4, 1);
    await expect(
      renderPieces([piece], { media: 'env10', calibration: { xMm: 50, yMm: 0 } }, sink()),
    ).rejects.toMatchObject({ code: 'PRINT_BAD_CALIBRATION' });
  });

  it('draws the marks pieces share from one Form XObject once seen twice, and the pages look the same', async () => {
    // The first page of a kind carries its shared marks inline; from the second on, one `Do`
    // draws them. The rendered pages of the same piece must be identical pixel for pixel.
    for (const [media, pieces, pagesOf] of [
      ['env10', [piece, demo, piece, demo, piece], [1, 3, 5]],
      ['sheet2x4x6', [piece, demo, piece, demo], [1, 2]],
    ] as const) {
      const file = join(dir, `repeat-${media}.pdf`);
      await renderToFile(pieces, { media, returnAddress: RETURN_ADDRESS }, file);
      const pdf = (await readFile(file)).toString('latin1');
      // One XObject for the live piece's marks and one for the demo's, on either medium (a
      // sheet's two slots share theirs).
      expect(pdf.split('/Subtype /Form').length - 1, media).toBe(2);
      const pages = pageContents(await readFile(file));
      if (media === 'env10') {
        expect((pages[0] ?? '').split(' Tf').length - 1).toBeGreaterThan(3);
        expect(pages[0]).not.toContain(' Do');
        expect(pages[2]).toMatch(/^\/T\d+ Do$/m);
        // Only the recipient's three lines are text on a page drawn from the template.
        expect((pages[2] ?? '').split(' Tf').length - 1).toBe(3);
      }
      const png = async (page: number) =>
        readFile(await rasterize(file, join(dir, `repeat-${media}-${page}`), { page }));
      const first = await png(pagesOf[0]);
      for (const page of pagesOf.slice(1)) {
        expect((await png(page)).equals(first), `${media} page ${page}`).toBe(true);
      }
    }
  });

  it('puts two pieces on each 2-up sheet', async () => {
    const file = join(dir, 'sheet.pdf');
    const result = await renderToFile([piece, demo, piece], { media: 'sheet2x4x6' }, file);
    expect(result).toEqual({ pages: 2, pieces: 3 });
    expect((await pdfInfo(file)).pages).toBe(2);
    const t = await text(file);
    expect(t.split('US POSTAGE').length - 1).toBe(3);
  });

  it('refuses a piece whose indicium does not decode, or whose ZIP is not the indicium’s', async () => {
    const broken = { ...piece, indicium: piece.indicium.slice(0, 140) };
    await expect(renderPieces([piece, broken], { media: 'env10' }, sink())).rejects.toMatchObject({
      code: 'PRINT_BAD_INDICIUM',
      message: expect.stringMatching(/piece 2: indicium: truncated/),
    });
    const elsewhere = { ...piece, recipient: { ...piece.recipient, zip: '10001' } };
    await expect(renderPieces([elsewhere], { media: 'env10' }, sink())).rejects.toMatchObject({
      code: 'PRINT_ZIP_MISMATCH',
    });
    const noStreet = { ...piece, recipient: { ...piece.recipient, street: ' ' } };
    await expect(renderPieces([noStreet], { media: 'env10' }, sink())).rejects.toMatchObject({
      code: 'PRINT_BAD_ADDRESS',
    });
    await expect(renderPieces([], { media: 'env10' }, sink())).rejects.toMatchObject({
      code: 'PRINT_NO_PIECES',
    });
    const half = join(dir, 'half.pdf');
    await expect(renderToFile([piece, piece, broken], { media: 'env10' }, half)).rejects.toThrow(
      /piece 3/,
    );
    expect(existsSync(half)).toBe(false);
  });

  it('streams a 1,000-piece batch from an async iterable into one 1,000-page PDF', async () => {
    const file = join(dir, 'batch.pdf');
    async function* pieces(): AsyncGenerator<PrintPiece> {
      for (let i = 0; i < 1000; i++) yield i % 2 ? piece : demo;
    }
    const result = await renderToFile(pieces(), { media: 'env10' }, file);
    expect(result).toEqual({ pages: 1000, pieces: 1000 });
    const info = await pdfInfo(file);
    expect(info.pages).toBe(1000);
    expect(info.sizes.length).toBe(1000);
    expect(info.sizes.every(([w, h]) => w === 684 && h === 297)).toBe(true);
    // An envelope's content is stored as it is, some 2 KB a page (the symbol 577 bytes of it).
    expect((await stat(file)).size).toBeLessThan(1000 * 3072);
    expect((await readFile(file)).toString('latin1')).not.toContain('/FlateDecode');
    const last = await rasterize(file, join(dir, 'batch-last'), { page: 1000 });
    expect(await dmtxHex(last)).toBe(hex(piece.indicium));
  }, 180_000);

  it('compresses the pages of a long batch on a thread, in order, to the same file', async () => {
    // A sheet of two labels with their tracking barcodes (some 5 KB of operators a page, each
    // label its own marks) is compressed; an envelope's page is not.
    const pages = pageContents;
    const labelOf = (p: PrintPiece, i: number): PrintPiece => ({
      ...p,
      tracking: makeTrackingNumber('priority', '901234567', 1000 + i),
    });
    const list = Array.from({ length: 40 }, (_, i) => labelOf(i % 3 === 1 ? demo : piece, i));
    const files: Record<string, Buffer> = {};
    const reports: number[] = [];
    for (const thread of ['1', '0']) {
      const file = join(dir, `thread-${thread}.pdf`);
      const onProgress = (done: number) => thread === '1' && reports.push(done);
      expect(
        await renderToFile(
          list,
          { media: 'sheet2x4x6', onProgress, compressOnThread: thread === '1' },
          file,
        ),
      ).toEqual({
        pages: 20,
        pieces: 40,
      });
      files[thread] = await readFile(file);
      expect((await pdfInfo(file)).pages).toBe(20);
      const compressed = files[thread].toString('latin1').split('/Filter /FlateDecode').length;
      expect(compressed - 1).toBe(20);
    }
    // The same pages in the same order, whichever thread compressed them.
    expect(pages(files['1'] as Buffer)).toEqual(pages(files['0'] as Buffer));
    expect(pages(files['1'] as Buffer).length).toBe(20);
    expect(reports.at(-1)).toBe(40);
    expect(reports).toEqual([...reports].sort((a, b) => a - b));
    const last = await rasterize(join(dir, 'thread-1.pdf'), join(dir, 'thread-last'), { page: 20 });
    expect(await dmtxHex(last)).toBe(hex(piece.indicium));
  });

  it('writes pages as it goes, waiting for a slow consumer', async () => {
    let written = 0;
    let maxBacklog = 0;
    let drawnWhenFirstWrite = -1;
    let drawn = 0;
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, cb) {
        if (drawnWhenFirstWrite < 0) drawnWhenFirstWrite = drawn;
        written += chunk.length;
        maxBacklog = Math.max(maxBacklog, slow.writableLength);
        setTimeout(cb, 1);
      },
    });
    function* pieces(): Generator<PrintPiece> {
      for (drawn = 0; drawn < 40; drawn++) yield piece;
    }
    const result = await renderPieces(pieces(), { media: 'env10' }, slow);
    expect(result.pages).toBe(40);
    expect(drawnWhenFirstWrite).toBeLessThan(5); // the first page left before the batch ended
    expect(maxBacklog).toBeLessThan(64 * 1024); // never more than about a page queued
    expect(written).toBeGreaterThan(40 * 1000);
  });

  it('reports progress as pieces whose pages the output has received, not pieces drawn', async () => {
    let received = '';
    const out = new Writable({
      write(chunk: Buffer, _enc, cb) {
        received += chunk.toString('latin1');
        setTimeout(cb, 1);
      },
    });
    const reports: { done: number; pagesReceived: number }[] = [];
    const pages = () => received.split('/Type /Page\n').length - 1;
    const result = await renderPieces(
      Array.from({ length: 30 }, () => piece),
      { media: 'env10', onProgress: (done) => reports.push({ done, pagesReceived: pages() }) },
      out,
    );
    expect(result.pieces).toBe(30);
    expect(reports.length).toBeGreaterThan(3); // as it goes, not only at the end
    expect(reports.at(-1)).toEqual({ done: 30, pagesReceived: 30 });
    for (const [i, r] of reports.entries()) {
      expect(r.done).toBeLessThanOrEqual(r.pagesReceived); // one piece a page on an envelope
      if (i > 0) expect(r.done).toBeGreaterThanOrEqual(reports[i - 1]?.done ?? 0);
    }
  });
});

describe('postageText()', () => {
  it('writes amounts exactly as formatDollars does', () => {
    const amounts = [0, 1, 9, 10, 99, 100, 101, 999, 1000, 99_999, 100_000, 123_456, 0xffffffff];
    for (let c = 0; c < 2_000_000; c += 997) amounts.push(c, -c);
    for (const cents of amounts)
      expect(postageText(cents), String(cents)).toBe(formatDollars(cents));
  });
});

describe('dataMatrixSvg()', () => {
  it('gives an SVG preview of the symbol with its quiet zone', () => {
    const svg = dataMatrixSvg(piece.indicium, 3);
    expect(svg).toMatch(
      /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="168" height="168" viewBox="0 0 56 56"/,
    );
    expect(svg).toContain('<path d="M4 4h');
  });
});

function sink(): Writable {
  return new Writable({
    write(_c, _e, cb) {
      cb();
    },
  });
}
