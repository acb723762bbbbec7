/**
 * Tests of the Intelligent Mail barcode on envelopes (client/print/impb.ts, piece-plan.ts): no
 * decoder of IMb is at hand, so the bars are checked against an encoder nobody here wrote (Zint,
 * `zint -b 85 --dump`): the 65 bars' kinds (full, ascender, descender, tracker) that bwip-js
 * gives, and those measured in a 300-dpi raster of the printed envelope, equal Zint's.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  IMB_HEIGHT_PT,
  imbBars,
  renderToFile,
  MEDIA,
  planPiece,
  pdfTextMeasure,
  decodePiece,
  type PrintPiece,
} from '../../../client/print';
import { makeTrackingNumber } from '../../../shared/tracking';
import { makePki, type Meter } from '../../fixtures/indicium/meter-pki';
import { pieceFor, run } from './helpers';

let dir: string;
let piece: PrintPiece;
const imb = makeTrackingNumber('first-class', '901234567', 123456);

/** Zint's bar kinds of an IMb: F, A, D or T for each of the 65 bars. */
async function zintKinds(tracking: string, routing: string): Promise<string> {
  const r = await run('zint', ['-b', '85', '--dump', '-d', `${tracking}-${routing}`]);
  expect(r.code, r.stderr).toBe(0);
  const rows = r.stdout
    .toString()
    .trim()
    .split('\n')
    .map((line) =>
      line
        .trim()
        .split(/\s+/)
        .map((h) =>
          parseInt(h, 16)
            .toString(2)
            .padStart(h.length * 4, '0'),
        )
        .join(''),
    );
  // Rows: ascender, tracker, descender; a bar every other column.
  let kinds = '';
  for (let bar = 0; bar < 65; bar++) {
    const up = rows[0]?.[bar * 2] === '1';
    const down = rows[2]?.[bar * 2] === '1';
    kinds += up && down ? 'F' : up ? 'A' : down ? 'D' : 'T';
  }
  return kinds;
}

function kindOf(top: number, bottom: number, min: number, max: number, slack: number): string {
  const up = top <= min + slack;
  const down = bottom >= max - slack;
  return up && down ? 'F' : up ? 'A' : down ? 'D' : 'T';
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-imb-test-'));
  piece = { ...(await pieceFor((await makePki()).meters[0] as Meter)), imb };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the Intelligent Mail barcode on an envelope', () => {
  it('has the bars Zint encodes for the tracking code and the destination ZIP+4', async () => {
    const { bars } = imbBars(imb, '94501-3301');
    expect(bars).toHaveLength(65);
    const kinds = bars.map((b) => kindOf(b.y, b.y + b.height, 0, IMB_HEIGHT_PT, 0.01)).join('');
    expect(kinds).toBe(await zintKinds(imb, '945013301'));
  });

  it('prints those 65 bars below the address, as a 300-dpi raster of the PDF shows', async () => {
    const pdf = join(dir, 'env.pdf');
    await renderToFile([piece], { media: 'env10' }, pdf);
    const plan = planPiece(
      MEDIA.env10,
      0,
      decodePiece(piece, 0),
      piece,
      undefined,
      { xMm: 0, yMm: 0 },
      pdfTextMeasure(),
    );
    const fill = plan.marks.find((m) => m.kind === 'fill');
    if (fill?.kind !== 'fill') throw new Error('no IMb in the plan');
    const px = (pt: number) => Math.round((pt * 300) / 72);
    const x0 = px(Math.min(...fill.boxes.map((b) => b.x))) - 6;
    const x1 = px(Math.max(...fill.boxes.map((b) => b.x + b.width))) + 6;
    const y0 = px(Math.min(...fill.boxes.map((b) => b.y))) - 4;
    const y1 = px(Math.max(...fill.boxes.map((b) => b.y + b.height))) + 4;
    const out = join(dir, 'imb');
    const r = await run('pdftoppm', [
      '-r',
      '300',
      '-gray',
      '-singlefile',
      '-x',
      String(x0),
      '-y',
      String(y0),
      '-W',
      String(x1 - x0),
      '-H',
      String(y1 - y0),
      pdf,
      out,
    ]);
    expect(r.code, r.stderr).toBe(0);
    const b = await readFile(`${out}.pgm`);
    const head = /^P5\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(b.subarray(0, 64).toString('latin1'));
    const [w, h] = [Number(head?.[1]), Number(head?.[2])];
    const pixels = b.subarray(head?.[0].length ?? 0);
    const dark = (x: number, y: number) => (pixels[y * w + x] ?? 255) < 128;
    // Columns with ink, grouped into bars; each bar's highest and lowest inked row.
    const found: Array<{ top: number; bottom: number }> = [];
    let current: { top: number; bottom: number } | undefined;
    for (let x = 0; x < w; x++) {
      let top = -1;
      let bottom = -1;
      for (let y = 0; y < h; y++) if (dark(x, y)) [top, bottom] = [top < 0 ? y : top, y];
      if (top < 0) {
        if (current) found.push(current);
        current = undefined;
      } else if (current) {
        current = { top: Math.min(current.top, top), bottom: Math.max(current.bottom, bottom) };
      } else current = { top, bottom };
    }
    if (current) found.push(current);
    expect(found).toHaveLength(65);
    const min = Math.min(...found.map((f) => f.top));
    const max = Math.max(...found.map((f) => f.bottom));
    const kinds = found.map((f) => kindOf(f.top, f.bottom, min, max, 3)).join('');
    expect(kinds).toBe(await zintKinds(imb, '945013301'));
    // 65 bars over 2.9 to 3.25 in, as USPS-B-3200 asks.
    expect((x1 - x0 - 12) / 300).toBeGreaterThan(2.9);
    expect((x1 - x0 - 12) / 300).toBeLessThan(3.25);
  });

  it('refuses a tracking code that is not 20 digits', () => {
    expect(() => imbBars('123', '94501')).toThrow(/20-digit/);
  });
});
