/**
 * The print driver over Chromium's printing (client/print/bridge-printer.ts) with a fake bridge
 * standing in for the Electron main process (whose own options are tested in
 * test/electron/html-print.test.ts): each job is a whole HTML document at the medium's size in
 * microns; a batch goes as documents of at most HTML_JOB_PAGES pages, all rendered before the
 * first is sent, so a bad piece prints nothing; a job refused midway says which pages went.
 */
import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  BridgePrinterDriver,
  HTML_JOB_PAGES,
  MEDIA,
  dataMatrixModules,
  printPieces,
  type ElectronPrintBridge,
  type HtmlPrintRequest,
  type PrintPiece,
} from '../../../client/print';
import { makePki, type Meter } from '../../fixtures/indicium/meter-pki';
import { pieceFor } from './helpers';

let piece: PrintPiece;
beforeAll(async () => {
  const p = await pieceFor((await makePki()).meters[0] as Meter);
  // Encoded once, as a piece may come with its symbol already encoded.
  piece = { ...p, symbol: dataMatrixModules(p.indicium) };
});

/** A bridge that records each job with the document as it was when it was sent. */
function fakeBridge(refuse?: (n: number) => string | undefined) {
  const jobs: Array<HtmlPrintRequest & { html: string }> = [];
  const bridge: ElectronPrintBridge = {
    getPrinters: async () => [{ name: 'HP', isDefault: true, status: 0 }],
    printHtml: async (request) => {
      const html = await readFile(request.htmlPath, 'utf8').catch(() => '(no file)');
      jobs.push({ ...request, html });
      const reason = refuse?.(jobs.length);
      return reason ? { ok: false, reason } : { ok: true };
    },
  };
  return { bridge, jobs };
}

const pages = (html: string): number => html.split('<svg class="page"').length - 1;

describe('BridgePrinterDriver', () => {
  it('prints an HTML document through the bridge with the page in microns, landscape for envelopes', async () => {
    const { bridge, jobs } = fakeBridge();
    const driver = new BridgePrinterDriver(bridge);
    expect(driver.format).toBe('html');
    const job = await driver.submit({ printer: 'HP', file: 'C:\\a.html', medium: MEDIA.env10 });
    const { html: _html, ...request } = { ...jobs[0], html: '' };
    expect(request).toEqual({
      deviceName: 'HP',
      htmlPath: 'C:\\a.html',
      pageSize: { width: 104775, height: 241300 },
      landscape: true,
      copies: 1,
    });
    expect((await driver.jobStatus(job.id)).state).toBe('completed');
    await expect(
      driver.submit({ printer: 'Nope', file: 'C:\\a.html', medium: MEDIA.env10 }),
    ).rejects.toMatchObject({ code: 'PRINT_PRINTER_NOT_FOUND' });
  });

  it('gives labels and the letter sheet their portrait size in microns', async () => {
    const { bridge, jobs } = fakeBridge();
    const driver = new BridgePrinterDriver(bridge);
    await driver.submit({ printer: 'HP', file: 'a.html', medium: MEDIA.label4x6 });
    await driver.submit({ printer: 'HP', file: 'b.html', medium: MEDIA.sheet2x4x6, copies: 2 });
    await driver.submit({ printer: 'HP', file: 'c.html', medium: MEDIA.c5 });
    expect(jobs.map((j) => [j.pageSize, j.landscape, j.copies])).toEqual([
      [{ width: 101600, height: 152400 }, false, 1],
      [{ width: 215900, height: 279400 }, false, 2],
      [{ width: 162000, height: 229000 }, true, 1],
    ]);
  });
});

describe('printPieces() through a driver that prints HTML', () => {
  it('sends a batch as HTML documents of at most HTML_JOB_PAGES pages, in order', async () => {
    const { bridge, jobs } = fakeBridge();
    const count = 2 * HTML_JOB_PAGES + 3;
    const result = await printPieces(
      Array.from({ length: count }, () => piece),
      { media: 'sheet2x4x6', printer: 'HP', driver: new BridgePrinterDriver(bridge) },
    );
    // Two labels a sheet: 2 × 200 + 3 pieces are 202 pages, one job of 200 and one of 2.
    expect(result).toMatchObject({ pages: HTML_JOB_PAGES + 2, pieces: count });
    expect(result.jobs).toHaveLength(2);
    expect(result.job).toEqual(result.jobs[1]);
    expect(jobs.map((j) => pages(j.html))).toEqual([HTML_JOB_PAGES, 2]);
    for (const job of jobs) {
      expect(job.html.startsWith('<!DOCTYPE html>')).toBe(true);
      expect(job.html).toContain('@page{size:612pt 792pt;margin:0}');
      expect(job.deviceName).toBe('HP');
    }
  });

  it('prints nothing when a piece of the batch is bad', async () => {
    const { bridge, jobs } = fakeBridge();
    const bad = { ...piece, indicium: piece.indicium.slice(0, 30) };
    const list = Array.from({ length: HTML_JOB_PAGES + 5 }, (_, i) => (i === 203 ? bad : piece));
    await expect(
      printPieces(list, { media: 'env10', printer: 'HP', driver: new BridgePrinterDriver(bridge) }),
    ).rejects.toMatchObject({ code: 'PRINT_BAD_INDICIUM', message: /^piece 204:/ });
    expect(jobs).toEqual([]);
  });

  it('says which pages went when a later job is refused', async () => {
    const { bridge } = fakeBridge((n) => (n === 2 ? 'Print job failed' : undefined));
    const list = Array.from({ length: HTML_JOB_PAGES + 1 }, () => piece);
    await expect(
      printPieces(list, { media: 'env10', printer: 'HP', driver: new BridgePrinterDriver(bridge) }),
    ).rejects.toMatchObject({
      code: 'PRINT_JOB_REFUSED',
      message: expect.stringMatching(
        /Print job failed.*only pages 1–200 of 201 were sent \(jobs 1–1 of 2\).*reprint the remaining pieces/,
      ),
    });
  });
});
