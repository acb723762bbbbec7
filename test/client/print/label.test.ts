/**
 * Tests of the Publication 199 shipping label (client/print/label.ts, impb.ts) with decoders
 * nobody here wrote: the PDF rasterized at 300 dpi (pdftoppm), its IMpb read by zbarimg (GS1-128,
 * AI 420 with the ZIP, then the tracking number whose check digit this test computes itself), its
 * indicium by dmtxread, its text by pdftotext; the 2-up letter sheet; the label printed through the
 * real CUPS `PDF` queue (cups-pdf); and a thermal label rasterized by Ghostscript at 203 dpi, whose
 * Data Matrix modules are measured to be squares of whole dots.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  PrintError,
  dataMatrixModules,
  printPieces,
  renderToFile,
  type PrintPiece,
} from '../../../client/print';
import { makeTrackingNumber } from '../../../shared/tracking';
import { makePki, type Meter } from '../../fixtures/indicium/meter-pki';
import { RETURN_ADDRESS, dmtxHex, pieceFor, run, waitForCupsPdf } from './helpers';

const MID = '901234567';
let dir: string;
let meter: Meter;
let priority: PrintPiece;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** GS1 / USPS mod 10, written here from the published rule: weights 3, 1, 3 … from the right. */
function checkDigitOk(digits: string): boolean {
  const body = digits.slice(0, -1).split('').reverse();
  const sum = body.reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return (10 - (sum % 10)) % 10 === Number(digits.slice(-1));
}

/** zbarimg's Code 128 reading of an image: the data and whether it began with FNC1 (GS1). */
async function readImpb(png: string): Promise<{ data: string; gs1: boolean } | undefined> {
  const args = ['-q', '-Sdisable', '-Scode128.enable'];
  const raw = await run('zbarimg', [...args, '--raw', png]);
  if (raw.code !== 0) return undefined;
  const xml = (await run('zbarimg', [...args, '--xml', png])).stdout.toString();
  return { data: raw.stdout.toString('latin1').trimEnd(), gs1: /modifiers='[^']*GS1/.test(xml) };
}

async function raster(pdf: string, prefix: string, crop?: [number, number, number, number]) {
  const args = ['-r', '300', '-png', '-singlefile'];
  if (crop)
    args.push(
      '-x',
      String(crop[0]),
      '-y',
      String(crop[1]),
      '-W',
      String(crop[2]),
      '-H',
      String(crop[3]),
    );
  const r = await run('pdftoppm', [...args, pdf, prefix]);
  if (r.code !== 0) throw new Error(r.stderr);
  return `${prefix}.png`;
}

async function text(pdf: string): Promise<string> {
  return (await run('pdftotext', ['-layout', pdf, '-'])).stdout.toString('utf8');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-label-test-'));
  meter = (await makePki()).meters[0] as Meter;
  priority = {
    ...(await pieceFor(meter, {
      mailClass: 'priority',
      destinationZip: '945013301',
      postageCents: 1045,
    })),
    tracking: makeTrackingNumber('priority', MID, 1234),
  };
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the 4 × 6 shipping label (PDF)', () => {
  let pdf: string;
  beforeAll(async () => {
    pdf = join(dir, 'priority.pdf');
    await renderToFile([priority], { media: 'label4x6', returnAddress: RETURN_ADDRESS }, pdf);
  });

  it('carries an IMpb that zbarimg reads as GS1-128: (420) ZIP, then the tracking number with a correct check digit', async () => {
    const impb = await readImpb(await raster(pdf, join(dir, 'p300')));
    expect(impb?.gs1).toBe(true);
    const [zipPart, tracking] = (impb?.data ?? '').split('\x1d');
    expect(zipPart).toBe('420945013301');
    expect(tracking).toBe(priority.tracking);
    expect(tracking).toMatch(/^94055901234567\d{8}$/);
    expect(checkDigitOk(tracking ?? '')).toBe(true);
  });

  it('carries the indicium’s exact bytes in its Data Matrix (dmtxread)', async () => {
    expect(await dmtxHex(await raster(pdf, join(dir, 'p300dm')))).toBe(hex(priority.indicium));
  });

  it('shows the service icon and banner, the return address, SHIP TO and the tracking number', async () => {
    const t = await text(pdf);
    expect(t).toContain('USPS PRIORITY MAIL');
    expect(t).toMatch(/^\s*P\s/m);
    expect(t).toContain('CHARLES BABBAGE');
    expect(t).toContain('DIFFERENCE ENGINES LTD');
    expect(t).toMatch(/SHIP TO:\s+ADA LOVELACE/);
    expect(t).toContain('USPS TRACKING #');
    expect(t).toContain((priority.tracking ?? '').replace(/(.{4})(?=.)/g, '$1 '));
    expect(t).toContain('$10.45');
    // Order on the label, top to bottom, as Publication 199 has it.
    const at = (s: string) => t.indexOf(s);
    expect(at('USPS PRIORITY MAIL')).toBeLessThan(at('CHARLES BABBAGE'));
    expect(at('CHARLES BABBAGE')).toBeLessThan(at('SHIP TO:'));
    expect(at('SHIP TO:')).toBeLessThan(at('USPS TRACKING #'));
  });

  it('names every package class in its banner and icon', async () => {
    const ground = {
      ...(await pieceFor(meter, { mailClass: 'ground-advantage', destinationZip: '94501' })),
      tracking: makeTrackingNumber('ground-advantage', MID, 9),
    };
    const file = join(dir, 'ground.pdf');
    await renderToFile([ground], { media: 'label4x6' }, file);
    const t = await text(file);
    expect(t).toContain('USPS GROUND ADVANTAGE');
    expect(t).toMatch(/^\s*G\s/m);
    const impb = await readImpb(await raster(file, join(dir, 'g300')));
    expect(impb?.data).toBe(`42094501\x1d${ground.tracking}`);
  });

  it('refuses a tracking number with a wrong check digit, printing nothing', async () => {
    const t = priority.tracking ?? '';
    const bad = { ...priority, tracking: t.slice(0, -1) + String((Number(t.slice(-1)) + 1) % 10) };
    const file = join(dir, 'bad.pdf');
    await expect(renderToFile([bad], { media: 'label4x6' }, file)).rejects.toMatchObject({
      code: 'PRINT_BAD_TRACKING',
    });
    await expect(readFile(file)).rejects.toThrow(/ENOENT/);
    expect(PrintError).toBeDefined();
  });

  it('puts two labels on the letter sheet, each with its own readable IMpb and indicium', async () => {
    const second = {
      ...(await pieceFor(meter, { mailClass: 'priority', destinationZip: '10001' })),
      recipient: {
        name: 'Grace Hopper',
        street: '1 Navy Yard',
        city: 'New York',
        state: 'NY',
        zip: '10001',
      },
      tracking: makeTrackingNumber('priority', MID, 1235),
    };
    const file = join(dir, 'sheet.pdf');
    await renderToFile(
      [priority, second],
      { media: 'sheet2x4x6', returnAddress: RETURN_ADDRESS },
      file,
    );
    // 8.5 × 11 in at 300 dpi; the labels sit at x 0.25–4.25 in and 4.25–8.25 in.
    for (const [piece, x] of [
      [priority, 0],
      [second, 1275],
    ] as const) {
      const png = await raster(file, join(dir, `half${x}`), [x, 0, 1275, 3300]);
      expect((await readImpb(png))?.data.split('\x1d')[1]).toBe(piece.tracking);
      expect(await dmtxHex(png)).toBe(hex(piece.indicium));
    }
    expect((await text(file)).split('USPS PRIORITY MAIL').length - 1).toBe(2);
  });

  it('prints through the real CUPS PDF queue, and what CUPS wrote still decodes', async () => {
    const result = await printPieces([priority], {
      media: 'label4x6',
      printer: 'PDF',
      returnAddress: RETURN_ADDRESS,
      title: 'vpm label test',
    });
    const printed = await waitForCupsPdf(result.job.id);
    const png = await raster(printed, join(dir, 'cups'));
    expect((await readImpb(png))?.data).toBe(`420945013301\x1d${priority.tracking}`);
    expect(await dmtxHex(png)).toBe(hex(priority.indicium));
    expect(await text(printed)).toContain('USPS PRIORITY MAIL');
  }, 120_000);
});

/** A binary PGM (P5) from Ghostscript: width, height and one byte a pixel. */
async function pgm(file: string): Promise<{ w: number; h: number; px: Buffer }> {
  const b = await readFile(file);
  // Header: P5, width, height, maxval, each after white space; Ghostscript adds # comments.
  const head = /^P5\s+(?:#[^\n]*\n\s*)*(\d+)\s+(\d+)\s+(\d+)\s/.exec(
    b.subarray(0, 256).toString('latin1'),
  );
  if (!head) throw new Error('not a binary PGM');
  return { w: Number(head[1]), h: Number(head[2]), px: b.subarray(head[0].length) };
}

/**
 * Finds the Data Matrix in the label's top right (the only marks right of x = 2.5 in above
 * y = 1.2 in) and checks that it is 48 modules of `dots` × `dots` pixels, every module's pixels
 * all dark or all light as the symbol's matrix says. Returns the number of mixed modules.
 */
async function mixedModules(
  pdf: string,
  dpi: number,
  piece: PrintPiece,
  dots: number,
): Promise<number> {
  const out = join(dir, `gs${dpi}.pgm`);
  const r = await run('gs', [
    '-q',
    '-dSAFER',
    '-dBATCH',
    '-dNOPAUSE',
    '-sDEVICE=pgmraw',
    `-r${dpi}`,
    '-o',
    out,
    pdf,
  ]);
  expect(r.code, r.stderr).toBe(0);
  const { w, px } = await pgm(out);
  const dark = (x: number, y: number) => (px[y * w + x] ?? 255) < 128;
  let [x0, y0, x1, y1] = [Infinity, Infinity, -1, -1];
  for (let y = 0; y < Math.round(1.2 * dpi); y++) {
    for (let x = Math.round(2.5 * dpi); x < w; x++) {
      if (dark(x, y))
        [x0, y0, x1, y1] = [Math.min(x0, x), Math.min(y0, y), Math.max(x1, x), Math.max(y1, y)];
    }
  }
  expect(x1 - x0 + 1).toBe(48 * dots);
  expect(y1 - y0 + 1).toBe(48 * dots);
  const matrix = dataMatrixModules(piece.indicium);
  let mixed = 0;
  for (let row = 0; row < 48; row++) {
    for (let col = 0; col < 48; col++) {
      const want = matrix.dark[row * 48 + col] === 1;
      let same = true;
      for (let dy = 0; dy < dots; dy++)
        for (let dx = 0; dx < dots; dx++)
          if (dark(x0 + col * dots + dx, y0 + row * dots + dy) !== want) same = false;
      if (!same) mixed += 1;
    }
  }
  return mixed;
}

describe('the label for a thermal printer (PDF on the dot grid)', () => {
  it('keeps every module a square of 4 × 4 dots in a 203-dpi Ghostscript raster', async () => {
    const file = join(dir, 'thermal203.pdf');
    await renderToFile(
      [priority],
      { media: 'label4x6', dpi: 203, calibration: { xMm: 0.3, yMm: -0.2 } },
      file,
    );
    expect(await mixedModules(file, 203, priority, 4)).toBe(0);
    const png = join(dir, 'thermal203');
    expect(await dmtxHex(await raster(file, png))).toBe(hex(priority.indicium));
  });

  it('keeps every module a square of 6 × 6 dots at 300 dpi', async () => {
    const file = join(dir, 'thermal300.pdf');
    await renderToFile([priority], { media: 'label4x6', dpi: 300 }, file);
    expect(await mixedModules(file, 300, priority, 6)).toBe(0);
  });

  it('(contrast) the same label laid out for no printer does not land on the 203-dpi grid', async () => {
    const file = join(dir, 'vector.pdf');
    await renderToFile([priority], { media: 'label4x6' }, file);
    await expect(mixedModules(file, 203, priority, 4)).rejects.toThrow(/to be 192/);
  });

  it('refuses a resolution it does not lay out for', async () => {
    await expect(
      renderToFile([priority], { media: 'label4x6', dpi: 150 }, join(dir, 'x.pdf')),
    ).rejects.toMatchObject({ code: 'PRINT_BAD_DPI' });
  });
});
