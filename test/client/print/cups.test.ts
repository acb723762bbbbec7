/**
 * End to end through a real CUPS queue: the `PDF` queue of cups-pdf. An envelope is printed, the
 * PDF that CUPS produced is rasterized at 200 dpi with pdftoppm and decoded with dmtxread (a
 * decoder nobody here wrote): the bytes equal the indicium, the verifier accepts them, the symbol
 * sits in the upper-right quarter, and a tampered copy is rejected. Also listing, job status, and
 * the errors for a missing printer and a queue that refuses jobs.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CupsPrinterDriver,
  MEDIA,
  PrintError,
  printPieces,
  renderToFile,
  type PrintPiece,
} from '../../../client/print';
import { bundleSource, verifyScan } from '../../../client/verify';
import { decodeIndicium, verifyIndicium } from '../../../shared/indicium';
import { makePki, type TestPki } from '../../fixtures/indicium/meter-pki';
import { RETURN_ADDRESS, dmtxHex, pieceFor, rasterize, run, waitForCupsPdf } from './helpers';

const QUEUE = 'PDF';
let dir: string;
let pki: TestPki;
let piece: PrintPiece;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Width and height of a PNG, from its IHDR chunk. */
async function pngSize(file: string): Promise<[number, number]> {
  const b = await readFile(file);
  return [b.readUInt32BE(16), b.readUInt32BE(20)];
}

async function printAndFetch(p: PrintPiece, name: string): Promise<{ pdf: string; job: string }> {
  const result = await printPieces([p], {
    media: 'env10',
    printer: QUEUE,
    returnAddress: RETURN_ADDRESS,
    title: `vpm test ${name}`,
  });
  expect(result.job.id).toMatch(/^PDF-\d+$/);
  expect(result.pages).toBe(1);
  return { pdf: await waitForCupsPdf(result.job.id), job: result.job.id };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-cups-test-'));
  pki = await makePki();
  piece = await pieceFor(pki.meters[0] as TestPki['meters'][number]);
  const status = await run('lpstat', ['-p', QUEUE]);
  if (status.code !== 0) {
    throw new Error(`this test needs the cups-pdf queue "${QUEUE}" (apt install cups cups-pdf)`);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('printing through CUPS (cups-pdf)', () => {
  let printed: { pdf: string; job: string };

  beforeAll(async () => {
    printed = await printAndFetch(piece, 'valid');
  }, 120_000);

  it('produces an envelope page of #10 size whose symbol dmtxread decodes to the indicium', async () => {
    const png = await rasterize(printed.pdf, join(dir, 'printed'));
    // 9.5 × 4.125 in at 200 dpi, landscape as it is fed.
    expect(await pngSize(png)).toEqual([1900, 825]);
    const decoded = await dmtxHex(png);
    expect(decoded).toBe(hex(piece.indicium));
    const result = await verifyIndicium(Buffer.from(decoded ?? '', 'hex'), pki.source);
    expect(result.verdict).toBe('valid');
  });

  it('has the symbol in the upper-right quarter of the face, and not elsewhere', async () => {
    const quarter = (x: number, y: number) => ({ x, y, w: 950, h: 412 });
    const upperRight = await rasterize(printed.pdf, join(dir, 'ur'), { crop: quarter(950, 0) });
    expect(await dmtxHex(upperRight)).toBe(hex(piece.indicium));
    for (const [name, x, y] of [
      ['ul', 0, 0],
      ['ll', 0, 412],
      ['lr', 950, 412],
    ] as const) {
      const png = await rasterize(printed.pdf, join(dir, name), { crop: quarter(x, y) });
      expect(await dmtxHex(png), name).toBeUndefined();
    }
  });

  it('is accepted by verifyScan (zxing-wasm) from the PDF CUPS wrote', async () => {
    const report = await verifyScan(printed.pdf, { certificates: bundleSource(pki.bundle) });
    expect(report.verdict).toBe('valid');
    expect(report.pieces.map((p) => hex(p.bytes))).toEqual([hex(piece.indicium)]);
  });

  it('rejects a copy with one byte changed and re-encoded into a new symbol', async () => {
    // One byte changed: the low byte of the ascending register (offset 31); still well formed.
    const forged = piece.indicium.slice();
    forged[31] = (forged[31] ?? 0) ^ 0x01;
    expect(forged.filter((b, i) => b !== piece.indicium[i]).length).toBe(1);
    expect(decodeIndicium(forged).fields.ascendingCents).not.toBe(
      decodeIndicium(piece.indicium).fields.ascendingCents,
    );
    const { pdf } = await printAndFetch({ ...piece, indicium: forged }, 'forged');
    const png = await rasterize(pdf, join(dir, 'forged'));
    const bytes = await dmtxHex(png);
    expect(bytes).toBe(hex(forged));
    expect((await verifyIndicium(Buffer.from(bytes ?? '', 'hex'), pki.source)).verdict).toBe(
      'bad-signature',
    );
    const report = await verifyScan(pdf, { certificates: bundleSource(pki.bundle) });
    expect(report.verdict).toBe('bad-signature');
    expect(report.line).toMatch(/^bad signature: /);
  }, 120_000);

  it('reports the job finished', async () => {
    const driver = new CupsPrinterDriver();
    let status = await driver.jobStatus(printed.job);
    for (let i = 0; i < 50 && status.state !== 'completed'; i++) {
      await new Promise((r) => setTimeout(r, 200));
      status = await driver.jobStatus(printed.job);
    }
    expect(status).toMatchObject({ id: printed.job, state: 'completed' });
    await expect(driver.jobStatus('PDF-99999999')).rejects.toMatchObject({
      code: 'PRINT_JOB_NOT_FOUND',
    });
  });
});

describe('CupsPrinterDriver', () => {
  const driver = new CupsPrinterDriver();

  it('lists the PDF queue with its page sizes, envelope sizes among them', async () => {
    const printers = await driver.listPrinters();
    const pdf = printers.find((p) => p.name === QUEUE);
    expect(pdf).toMatchObject({ accepting: true, device: 'cups-pdf:/' });
    expect(pdf?.media).toEqual(expect.arrayContaining(['Letter', 'Env10', 'EnvDL', 'EnvC5']));
    expect(pdf?.defaultMedia).toBeTruthy();
  });

  it('says what to do when the printer does not exist', async () => {
    const file = join(dir, 'missing.pdf');
    await renderToFile([piece], { media: 'env10' }, file);
    const submit = driver.submit({ printer: 'NoSuchQueueVpm', file, medium: MEDIA.env10 });
    await expect(submit).rejects.toBeInstanceOf(PrintError);
    await expect(submit).rejects.toMatchObject({
      code: 'PRINT_PRINTER_NOT_FOUND',
      message: expect.stringMatching(/no such printer queue.*lpstat -e/),
    });
    // printPieces checks before rendering, and names the queues that exist.
    await expect(
      printPieces([piece], { media: 'env10', printer: 'NoSuchQueueVpm' }),
    ).rejects.toMatchObject({
      code: 'PRINT_PRINTER_NOT_FOUND',
      message: expect.stringContaining(`the printers here are: `),
    });
  });

  it('says what to do when the queue refuses jobs', async () => {
    const queue = `VpmRejectTest${process.pid}`;
    const add = await run('lpadmin', [
      '-p',
      queue,
      '-v',
      'cups-pdf:/',
      '-P',
      '/etc/cups/ppd/PDF.ppd',
    ]);
    expect(add.code, add.stderr).toBe(0);
    try {
      expect((await run('cupsreject', [queue])).code).toBe(0);
      const file = join(dir, 'refused.pdf');
      await renderToFile([piece], { media: 'env10' }, file);
      await expect(
        driver.submit({ printer: queue, file, medium: MEDIA.env10 }),
      ).rejects.toMatchObject({
        code: 'PRINT_JOB_REFUSED',
        message: expect.stringContaining(`cupsaccept ${queue}`),
      });
    } finally {
      await run('lpadmin', ['-x', queue]);
    }
  });
});
