/**
 * Tests of the HTML print documents (client/print/html.ts) through Debian's Chromium, the engine
 * Electron embeds a version of: Chromium prints each medium's document to PDF as the desktop app
 * prints it; the page is the medium's size, the embedded fonts are used under the document's own
 * CSP, the indicium in the upper-right quarter decodes to exactly the signed bytes where the
 * pdfkit PDF puts it, the verifier accepts it, calibration moves it as it moves the PDF, and
 * batches are cut into whole documents of bounded size. One browser for the file.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  HTML_DOCUMENT_END,
  MEDIA,
  MEDIUM_IDS,
  dataMatrixModules,
  htmlDocumentStart,
  renderHtml,
  renderHtmlJobs,
  renderHtmlToFile,
  renderToFile,
  type Calibration,
  type HtmlJob,
  type Medium,
  type MediumId,
  type PrintPiece,
} from '../../../client/print';
import { verifyScan } from '../../../client/verify';
import { makePki, type Meter, type TestPki } from '../../fixtures/indicium/meter-pki';
import { browserDied, launchChromium } from '../../helpers/chromium';
import { RETURN_ADDRESS, pdfInfo, pieceFor, run } from './helpers';

const DPI = 200;
const PX_PER_PT = DPI / 72;
const PX_PER_MM = DPI / 25.4;

let dir: string;
let pki: TestPki;
let meter: Meter;
let browser: Browser;
let page: Page;
/** Console messages of the printed documents (a CSP violation is reported there). */
const consoleMessages: string[] = [];
/** Every URL the printed documents asked for. */
const requests: string[] = [];
/** Two different pieces per medium: on the 2-up sheet the second is in the upper-right quarter. */
const pieces = new Map<MediumId, PrintPiece[]>();

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** Launches the file's browser and opens its page, watching what the documents print and ask for. */
async function openBrowser(): Promise<void> {
  browser = await launchChromium();
  page = await browser.newPage();
  page.on('console', (m) => consoleMessages.push(`${m.type()}: ${m.text()}`));
  page.on('pageerror', (e) => consoleMessages.push(`pageerror: ${e.message}`));
  page.on('request', (r) => requests.push(r.url()));
}

/** Whether the browser was relaunched once already (see chromiumPdf). */
let relaunched = false;

/**
 * Opens an HTML file in Chromium as the app's print window does and prints it to PDF. A browser
 * process that dies under it (seen once in CI, on a loaded host) is relaunched once and the file
 * printed again; what it printed before it died goes to stderr. A document that crashes Chromium
 * crashes it again and fails.
 */
async function chromiumPdf(html: string, pdf: string): Promise<void> {
  try {
    await printPdf(html, pdf);
  } catch (error) {
    if (relaunched || !(await browserDied(browser))) throw error;
    relaunched = true;
    process.stderr.write(`html.test: Chromium died printing ${html}; relaunching it once\n`);
    await openBrowser();
    await printPdf(html, pdf);
  }
}

async function printPdf(html: string, pdf: string): Promise<void> {
  await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  // The fonts must be in use once the document has loaded (the print window prints then).
  expect(
    await page.evaluate(
      () =>
        (globalThis as unknown as { document: { fonts: { status: string } } }).document.fonts
          .status,
    ),
  ).toBe('loaded');
  await page.pdf({ path: pdf, preferCSSPageSize: true, printBackground: true });
}

async function render(
  media: MediumId,
  name: string,
  list: PrintPiece[],
  calibration?: Calibration,
): Promise<{ html: string; chromium: string; pdfkit: string }> {
  const opts = { media, returnAddress: RETURN_ADDRESS, ...(calibration ? { calibration } : {}) };
  const files = {
    html: join(dir, `${name}.html`),
    chromium: join(dir, `${name}.chromium.pdf`),
    pdfkit: join(dir, `${name}.pdfkit.pdf`),
  };
  await renderHtmlToFile(list, opts, files.html);
  await renderToFile(list, opts, files.pdfkit);
  await chromiumPdf(files.html, files.chromium);
  return files;
}

interface Decoded {
  hex: string;
  /** The symbol's four corners in pixels of the 200 dpi quarter (dmtxread, y down). */
  corners: Array<[number, number]>;
}

/** Rasterizes the upper-right quarter of page 1 at 200 dpi and decodes the Data Matrix in it. */
async function decodeUpperRight(pdf: string, medium: Medium): Promise<Decoded> {
  const w = Math.round(medium.width * PX_PER_PT);
  const h = Math.round(medium.height * PX_PER_PT);
  const prefix = `${pdf}.quarter`;
  const crop = ['-x', String(Math.floor(w / 2)), '-y', '0', '-W', String(Math.ceil(w / 2))];
  const raster = await run('pdftoppm', [
    ...['-r', String(DPI), '-png', '-singlefile', '-f', '1', '-l', '1'],
    ...[...crop, '-H', String(Math.ceil(h / 2))],
    pdf,
    prefix,
  ]);
  expect(raster.code, raster.stderr).toBe(0);
  // dmtxread prints the bytes exactly on stdout, and with -v where it found them on stderr.
  const out = await run('dmtxread', ['-v', '-N', '1', '-m', '60000', `${prefix}.png`]);
  const corners = [...out.stderr.matchAll(/Corner \d: \(([\d.]+), ([\d.]+)\)/g)].map(
    (m) => [Number(m[1]), Number(m[2])] as [number, number],
  );
  return { hex: out.stdout.toString('hex'), corners };
}

function maxCornerDistanceMm(a: Decoded, b: Decoded): number {
  expect(a.corners).toHaveLength(4);
  expect(b.corners).toHaveLength(4);
  return Math.max(
    ...a.corners.map(([x, y], i) => {
      const [bx, by] = b.corners[i] ?? [NaN, NaN];
      return Math.hypot(x - bx, y - by) / PX_PER_MM;
    }),
  );
}

const files = new Map<MediumId, { html: string; chromium: string; pdfkit: string }>();

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-html-test-'));
  pki = await makePki();
  meter = pki.meters[0] as Meter;
  await openBrowser();
  for (const media of MEDIUM_IDS) {
    const list = [
      await pieceFor(meter, { postageCents: 73 }),
      await pieceFor(meter, { postageCents: 1_234_56, demo: true }),
    ];
    pieces.set(media, list);
    files.set(media, await render(media, media, list));
  }
});
afterAll(async () => {
  await browser?.close();
  await rm(dir, { recursive: true, force: true });
});

describe('the HTML print document', () => {
  it('is self-contained: its own CSP (no script, no network), data: fonts, the exact @page', async () => {
    for (const media of MEDIUM_IDS) {
      const html = await readFile(files.get(media)?.html ?? '', 'utf8');
      const m = MEDIA[media];
      const csp = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html)?.[1];
      expect(csp).toMatch(
        /^default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'; font-src data:;/,
      );
      expect(html).not.toMatch(
        /<script|javascript:|unsafe-inline|https?:\/\/(?!www\.w3\.org\/2000\/svg)/i,
      );
      expect(html).toContain(
        `@page{size:${+m.width.toFixed(4)}pt ${+m.height.toFixed(4)}pt;margin:0}`,
      );
      expect(html.match(/src:url\(data:font\/woff2;base64,/g)).toHaveLength(2);
      // One SVG a page, exactly the page's size in points, never scaled.
      const svgs = [
        ...html.matchAll(
          /<svg class="page"[^>]* width="([\d.]+)pt" height="([\d.]+)pt" viewBox="0 0 ([\d.]+) ([\d.]+)">/g,
        ),
      ];
      expect(svgs).toHaveLength(m.slots.length === 2 ? 1 : 2);
      for (const s of svgs) {
        expect(Number(s[1])).toBeCloseTo(m.width, 3);
        expect(Number(s[2])).toBeCloseTo(m.height, 3);
        expect(s[3]).toBe(s[1]);
        expect(s[4]).toBe(s[2]);
      }
      expect(html).not.toMatch(/zoom|scale\((?!1\.5\))/);
    }
  });

  it('prints through Chromium at the medium size, one page per piece or two labels per sheet', async () => {
    for (const media of MEDIUM_IDS) {
      const m = MEDIA[media];
      const info = await pdfInfo(files.get(media)?.chromium ?? '');
      expect(info.pages, media).toBe(m.slots.length === 2 ? 1 : 2);
      for (const [w, h] of info.sizes) {
        // Chromium's PDF writer keeps page sizes on a grid of whole points, then 1/300 in, so
        // a medium in millimetres comes out within 0.5 pt (0.18 mm) of its size; a printer
        // gets the exact size in microns (electron/html-print.ts).
        expect(Math.abs(w - m.width), `${media} width ${w}`).toBeLessThanOrEqual(0.5);
        expect(Math.abs(h - m.height), `${media} height ${h}`).toBeLessThanOrEqual(0.5);
      }
    }
  });

  it('embeds its fonts, and Chromium draws with them under the document’s CSP', async () => {
    for (const media of MEDIUM_IDS) {
      const fonts = (await run('pdffonts', [files.get(media)?.chromium ?? ''])).stdout.toString();
      const names = [...fonts.matchAll(/^\w{6}\+(\S+)\s.*\byes\s+yes\s+yes\b/gm)].map((f) => f[1]);
      expect(names.sort(), media).toEqual(['Arimo', 'Arimo-Bold']);
    }
    const text = (await run('pdftotext', [files.get('env10')?.chromium ?? '', '-'])).stdout;
    expect(text.toString()).toContain('US POSTAGE');
    expect(text.toString()).toContain('$1,234.56');
    expect(text.toString()).toContain('SAMPLE — NOT VALID POSTAGE');
    expect(consoleMessages).toEqual([]);
    // Nothing but the documents themselves was loaded: the fonts are in them.
    expect(requests.filter((url) => !/^file:\/\/.*\.html$/.test(url))).toEqual([]);
    expect(requests.length).toBeGreaterThanOrEqual(MEDIUM_IDS.length);
  });

  it('decodes to exactly the indicium bytes from the upper-right quarter, where the pdfkit PDF has it (within 0.5 mm)', async () => {
    for (const media of MEDIUM_IDS) {
      const m = MEDIA[media];
      const f = files.get(media);
      const list = pieces.get(media) ?? [];
      // The upper-right quarter holds the first piece's indicium, or the right-hand label's.
      const expected = hex(
        (m.slots.length === 2 ? list[1] : list[0])?.indicium ?? new Uint8Array(),
      );
      const html = await decodeUpperRight(f?.chromium ?? '', m);
      const pdf = await decodeUpperRight(f?.pdfkit ?? '', m);
      expect(html.hex, media).toBe(expected);
      expect(pdf.hex, media).toBe(expected);
      expect(maxCornerDistanceMm(html, pdf), media).toBeLessThanOrEqual(0.5);
    }
  });

  it('draws every word where the PDF draws it (same plan, Helvetica-compatible font)', async () => {
    /** Words of page 1 by text, each list in reading position: [xMin, baseline-ish yMax]. */
    const words = async (pdf: string): Promise<Map<string, Array<[number, number]>>> => {
      const xml = (await run('pdftotext', ['-bbox', '-f', '1', '-l', '1', pdf, '-'])).stdout;
      const map = new Map<string, Array<[number, number]>>();
      for (const m of xml
        .toString()
        .matchAll(/xMin="([\d.]+)" yMin="[\d.]+" xMax="[\d.]+" yMax="([\d.]+)">([^<]+)</g)) {
        const list = map.get(m[3] ?? '') ?? [];
        list.push([Number(m[1]), Number(m[2])]);
        map.set(m[3] ?? '', list);
      }
      for (const list of map.values()) list.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
      return map;
    };
    for (const media of ['env10', 'label4x6'] as const) {
      const html = await words(files.get(media)?.chromium ?? '');
      const pdf = await words(files.get(media)?.pdfkit ?? '');
      expect([...html.keys()].sort(), media).toEqual([...pdf.keys()].sort());
      expect(pdf.size, media).toBeGreaterThan(20);
      for (const [text, places] of pdf) {
        for (const [i, [x, y]] of places.entries()) {
          const [hx, hy] = html.get(text)?.[i] ?? [NaN, NaN];
          // Line starts agree exactly; later words within the fonts' kerning differences.
          expect(Math.abs(hx - x), `${media} "${text}" x`).toBeLessThanOrEqual(2);
          expect(Math.abs(hy - y), `${media} "${text}" y`).toBeLessThanOrEqual(0.5);
        }
      }
    }
  });

  it('is accepted by the verifier', async () => {
    const report = await verifyScan(files.get('env10')?.chromium ?? '', {
      certificates: pki.source,
    });
    expect(report.pieces.map((p) => p.verdict)).toEqual(['valid', 'demo-sample']);
    expect(hex(report.pieces[0]?.bytes ?? new Uint8Array())).toBe(
      hex(pieces.get('env10')?.[0]?.indicium ?? new Uint8Array()),
    );
  });

  it('moves by the calibration offsets exactly as the PDF does', async () => {
    const list = [(pieces.get('env10') ?? [])[0] as PrintPiece];
    const moved = await render('env10', 'calibrated', list, { xMm: -10, yMm: 5 });
    const base = files.get('env10');
    const m = MEDIA.env10;
    const [h0, h1, p0, p1] = await Promise.all([
      decodeUpperRight(base?.chromium ?? '', m),
      decodeUpperRight(moved.chromium, m),
      decodeUpperRight(base?.pdfkit ?? '', m),
      decodeUpperRight(moved.pdfkit, m),
    ]);
    for (const [before, after] of [
      [h0, h1],
      [p0, p1],
    ] as const) {
      for (const [i, [x, y]] of after.corners.entries()) {
        const [x0, y0] = before.corners[i] ?? [NaN, NaN];
        expect((x - x0) / PX_PER_MM).toBeCloseTo(-10, 0);
        expect((y - y0) / PX_PER_MM).toBeCloseTo(5, 0);
      }
    }
    expect(maxCornerDistanceMm(h1, p1)).toBeLessThanOrEqual(0.5);
    await expect(
      renderHtmlToFile(
        list,
        { media: 'env10', calibration: { xMm: 0, yMm: 21 } },
        join(dir, 'bad.html'),
      ),
    ).rejects.toMatchObject({ code: 'PRINT_BAD_CALIBRATION' });
  });
});

describe('renderHtmlJobs()', () => {
  it('cuts a batch into whole documents of at most N pages, one after the other', async () => {
    const piece = (pieces.get('sheet2x4x6') ?? [])[0] as PrintPiece;
    const jobs: HtmlJob[] = [];
    const result = await renderHtmlJobs(
      Array.from({ length: 9 }, () => piece),
      { media: 'sheet2x4x6' },
      async (job) => {
        jobs.push(job);
      },
      2,
    );
    expect(result).toEqual({ pages: 5, pieces: 9 });
    expect(jobs.map((j) => [j.index, j.pages, j.pieces])).toEqual([
      [0, 2, 4],
      [1, 2, 4],
      [2, 1, 1],
    ]);
    const start = htmlDocumentStart(MEDIA.sheet2x4x6, 'Postage, Letter sheet, two 4 × 6 in labels');
    for (const job of jobs) {
      expect(job.html.startsWith(start)).toBe(true);
      expect(job.html.endsWith(HTML_DOCUMENT_END)).toBe(true);
    }
    const last = join(dir, 'job-2.html');
    await renderHtmlToFile([piece], { media: 'sheet2x4x6' }, last);
    expect(await readFile(last, 'utf8')).toBe(jobs[2]?.html);
    const first = join(dir, 'job-0.html');
    await writeFile(first, jobs[0]?.html ?? '');
    await chromiumPdf(first, join(dir, 'job-0.pdf'));
    expect((await pdfInfo(join(dir, 'job-0.pdf'))).pages).toBe(2);
  });

  it('holds one job’s pages at a time, however long the batch', async () => {
    const first = (pieces.get('env10') ?? [])[0] as PrintPiece;
    const piece = { ...first, symbol: dataMatrixModules(first.indicium) };
    let pulled = 0;
    async function* batch(): AsyncGenerator<PrintPiece> {
      for (let i = 0; i < 1_000; i++) {
        pulled += 1;
        yield piece;
      }
    }
    const pulledAtJob: number[] = [];
    const progress: number[] = [];
    const result = await renderHtmlJobs(
      batch(),
      { media: 'env10', onProgress: (n) => progress.push(n) },
      async () => {
        pulledAtJob.push(pulled);
      },
    );
    expect(result).toEqual({ pages: 1_000, pieces: 1_000 });
    expect(pulledAtJob).toEqual([200, 400, 600, 800, 1_000]);
    expect(progress).toEqual([200, 400, 600, 800, 1_000]);
  });

  it('streams a document to a slow file, waiting for it', async () => {
    const first = (pieces.get('env10') ?? [])[0] as PrintPiece;
    const piece = { ...first, symbol: dataMatrixModules(first.indicium) };
    let pulled = 0;
    function* batch(): Generator<PrintPiece> {
      for (let i = 0; i < 300; i++) {
        pulled += 1;
        yield piece;
      }
    }
    let release: (() => void) | undefined;
    let bytes = 0;
    const out = new Writable({
      highWaterMark: 64 * 1024,
      write(chunk: Buffer, _encoding, callback) {
        bytes += chunk.length;
        // The consumer stalls after the first 100 KB until released.
        if (bytes > 100_000 && !release) release = callback;
        else callback();
      },
    });
    const progress: number[] = [];
    const done = renderHtml(batch(), { media: 'env10', onProgress: (n) => progress.push(n) }, out);
    const turn = () => new Promise((r) => setImmediate(r));
    while (!release) await turn();
    for (let i = 0; i < 100; i++) await turn();
    // Some 100 KB written and 64 KB buffered, then it waits for the consumer, not rendering ahead;
    // progress counts only the pieces whose pages the consumer has taken.
    expect(pulled).toBeLessThan(30);
    expect(Math.max(0, ...progress)).toBeLessThan(pulled - 3);
    release?.();
    expect(await done).toEqual({ pages: 300, pieces: 300 });
    expect(pulled).toBe(300);
    expect(progress.at(-1)).toBe(300);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('refuses a bad piece, or no piece, and leaves no file behind', async () => {
    const good = (pieces.get('env10') ?? [])[0] as PrintPiece;
    const bad = { ...good, indicium: good.indicium.slice(0, 40) };
    const wrongZip = { ...good, recipient: { ...good.recipient, zip: '10001' } };
    for (const [list, code] of [
      [[good, bad], 'PRINT_BAD_INDICIUM'],
      [[good, wrongZip], 'PRINT_ZIP_MISMATCH'],
      [[], 'PRINT_NO_PIECES'],
    ] as const) {
      const before = await readdir(dir);
      const file = join(dir, `refused-${code}.html`);
      await expect(renderHtmlToFile(list, { media: 'env10' }, file)).rejects.toMatchObject({
        code,
      });
      expect(await readdir(dir)).toEqual(before);
    }
  });
});
