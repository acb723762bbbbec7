/**
 * Tests of the verifier (client/verify) and `vpm verify`: scans as PDF, PNG and JPEG decoded with
 * zxing-wasm, each verdict (valid, demo sample, bad signature, unknown certificate, duplicate,
 * unreadable), the offline certificate bundle, and the CLI's output line and exit codes.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderToFile, type PrintPiece } from '../../../client/print';
import {
  VERIFY_ERROR_CODES,
  bundleSource,
  loadBundle,
  parseBundle,
  readScanSymbols,
  sniffScan,
  verifyScan,
} from '../../../client/verify';
import { makePki, type Meter, type TestPki } from '../../fixtures/indicium/meter-pki';
import { pieceFor, rasterize, run } from '../print/helpers';
import { vpmInProcess, type RunResult } from '../../helpers/cli';

let dir: string;
let pki: TestPki;
let meter: Meter;
let valid: PrintPiece;
interface Files {
  valid: string;
  demo: string;
  forged: string;
  stranger: string;
  twice: string;
  png: string;
  jpeg: string;
  blank: string;
  text: string;
  ahead: string;
  tomorrow: string;
  stale: string;
  hugePdf: string;
  hugePng: string;
}
let files: Files;
let bundleFile: string;

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A minimal valid PDF with one empty page of `size` × `size` points. */
function hugeMediaBoxPdf(size: number): string {
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    `<< /Type /Page /Parent 2 0 R /MediaBox [0 0 ${size} ${size}] >>`,
  ];
  let body = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((o, i) => {
    offsets.push(body.length);
    body += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = body.length;
  body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const o of offsets) body += `${String(o).padStart(10, '0')} 00000 n \n`;
  body += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return body;
}

async function pdfOf(name: string, pieces: PrintPiece[], media = 'env10'): Promise<string> {
  const file = join(dir, `${name}.pdf`);
  await renderToFile(pieces, { media: media as 'env10' }, file);
  return file;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-verify-test-'));
  pki = await makePki();
  meter = pki.meters[0] as Meter;
  valid = await pieceFor(meter);
  const demo = await pieceFor(meter, { demo: true });
  const forged = { ...valid, indicium: valid.indicium.slice() };
  forged.indicium[100] = (forged.indicium[100] ?? 0) ^ 0x01; // a signature byte
  const stranger = await pieceFor(meter, { certificateSerial: 'deadbeefdeadbeef' });
  const validPdf = await pdfOf('valid', [valid]);
  await run('pdftoppm', ['-r', '200', '-jpeg', '-singlefile', validPdf, join(dir, 'valid-jpg')]);
  // A 50 × 50 pixel corner of the envelope: paper, no symbol.
  const blankArgs = ['-r', '50', '-png', '-singlefile', '-W', '50', '-H', '50'];
  await run('pdftoppm', [...blankArgs, validPdf, join(dir, 'blank')]);
  files = {
    valid: validPdf,
    demo: await pdfOf('demo', [demo]),
    forged: await pdfOf('forged', [forged]),
    stranger: await pdfOf('stranger', [stranger]),
    twice: await pdfOf('twice', [valid, valid], 'sheet2x4x6'),
    png: await rasterize(validPdf, join(dir, 'valid-png')),
    jpeg: join(dir, 'valid-jpg.jpg'),
    blank: join(dir, 'blank.png'),
    text: join(dir, 'notes.txt'),
    ahead: '',
    tomorrow: '',
    stale: '',
    hugePdf: join(dir, 'huge.pdf'),
    hugePng: join(dir, 'huge.png'),
  };
  await writeFile(files.text, 'not a scan');
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000);
  const dated = (offset: number) => {
    const d = day(offset);
    const pad = (n: number) => String(n).padStart(2, '0');
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  };
  files.ahead = await pdfOf('ahead', [await pieceFor(meter, { mailingDate: dated(20) })]);
  files.tomorrow = await pdfOf('tomorrow', [await pieceFor(meter, { mailingDate: dated(1) })]);
  files.stale = await pdfOf('stale', [await pieceFor(meter, { mailingDate: dated(-90) })]);
  // A one-page PDF whose MediaBox is 200 × 200 inches (1.6 gigapixels at 200 dpi).
  await writeFile(files.hugePdf, hugeMediaBoxPdf(14_400));
  // A real PNG whose header claims 60,000 × 60,000 pixels.
  const png = Buffer.from(await readFile(files.png));
  png.writeUInt32BE(60_000, 16);
  png.writeUInt32BE(60_000, 20);
  await writeFile(files.hugePng, png);
  bundleFile = join(dir, 'certs.json');
  await writeFile(bundleFile, JSON.stringify(pki.bundle));
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('readScanSymbols()', () => {
  it('finds the indicium bytes in a PDF, a PNG and a JPEG', async () => {
    for (const kind of ['valid', 'png', 'jpeg'] as const) {
      expect((await readScanSymbols(files[kind])).map(hex), kind).toEqual([hex(valid.indicium)]);
    }
  });

  it('tells scan types by their first bytes, not their names', () => {
    expect(sniffScan(Buffer.from('%PDF-1.7'))).toBe('pdf');
    expect(sniffScan(Buffer.from([0xff, 0xd8, 0xff, 0xe0]))).toBe('jpeg');
    expect(sniffScan(Buffer.from('GIF89a'))).toBeUndefined();
  });

  it('refuses a missing file and a file that is not a scan, saying what to do', async () => {
    await expect(readScanSymbols(join(dir, 'nope.png'))).rejects.toMatchObject({
      code: 'VERIFY_FILE_MISSING',
    });
    await expect(readScanSymbols(files.text)).rejects.toMatchObject({
      code: 'VERIFY_UNSUPPORTED_FILE',
      message: expect.stringMatching(/PNG, JPEG or PDF/),
    });
  });

  it('refuses a PDF page or an image larger than a piece of mail before rasterizing or decoding it', async () => {
    await expect(readScanSymbols(files.hugePdf)).rejects.toMatchObject({
      code: 'VERIFY_SCAN_TOO_LARGE',
      message: expect.stringMatching(/page 1 is 200\.0 × 200\.0 inches/),
    });
    await expect(readScanSymbols(files.hugePng)).rejects.toMatchObject({
      code: 'VERIFY_SCAN_TOO_LARGE',
      message: expect.stringMatching(/60000 × 60000 pixels/),
    });
    expect(Object.keys(VERIFY_ERROR_CODES)).toContain('VERIFY_SCAN_TOO_LARGE');
  });

  it('says to install poppler-utils when pdftoppm is missing', async () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(readScanSymbols(files.valid)).rejects.toMatchObject({
        code: 'VERIFY_RASTERIZER_MISSING',
        message: expect.stringMatching(/poppler-utils/),
      });
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('verifyScan()', () => {
  const certificates = () => bundleSource(pki.bundle);

  it('gives each verdict with one line for people', async () => {
    const cases: Array<[keyof Files, string, RegExp]> = [
      ['valid', 'valid', /^valid: \$0\.73 First-Class Mail, meter VPM000000001/],
      ['png', 'valid', /^valid: /],
      ['jpeg', 'valid', /^valid: /],
      ['demo', 'demo-sample', /^demo sample: SAMPLE — NOT VALID POSTAGE/],
      ['forged', 'bad-signature', /^bad signature: /],
      ['stranger', 'unknown-certificate', /^unknown certificate: no certificate deadbeefdeadbeef/],
      ['blank', 'unreadable', /^unreadable: no Data Matrix indicium found/],
    ];
    for (const [file, verdict, line] of cases) {
      const report = await verifyScan(files[file], { certificates: certificates() });
      expect(report.verdict, file).toBe(verdict);
      expect(report.line, file).toMatch(line);
    }
  });

  it('reports a duplicate when the caller has seen the indicium before', async () => {
    const seen: string[] = [];
    const seenBefore = (bytes: Uint8Array) => {
      const key = hex(bytes);
      const was = seen.includes(key);
      seen.push(key);
      return was;
    };
    const first = await verifyScan(files.valid, { certificates: certificates(), seenBefore });
    expect(first.verdict).toBe('valid');
    const again = await verifyScan(files.png, { certificates: certificates(), seenBefore });
    expect(again.verdict).toBe('duplicate');
    expect(again.line).toMatch(/^duplicate: piece [0-9a-f-]{36} was presented before/);
    // A forged indicium is never reported as a duplicate, only as what it is.
    const forged = await verifyScan(files.forged, {
      certificates: certificates(),
      seenBefore: () => true,
    });
    expect(forged.verdict).toBe('bad-signature');
  });

  it('reports the same indicium twice in one scan as a duplicate', async () => {
    const report = await verifyScan(files.twice, { certificates: certificates() });
    expect(report.pieces.map((p) => p.verdict).sort()).toEqual(['duplicate', 'valid']);
    expect(report.verdict).toBe('duplicate');
    expect(report.line).toBe('duplicate: 2 indicia (1 duplicate, 1 valid)');
  });

  it('refuses a mailing date weeks after or months before the scan date, and accepts one a day ahead', async () => {
    const ahead = await verifyScan(files.ahead, { certificates: certificates() });
    expect(ahead.verdict).toBe('wrong-date');
    expect(ahead.line).toMatch(
      /^wrong date: mailed \d{4}-\d{2}-\d{2}, 20 days after the scan date/,
    );
    const stale = await verifyScan(files.stale, { certificates: certificates() });
    expect(stale.verdict).toBe('wrong-date');
    expect(stale.line).toMatch(/90 days before the scan date .*older than 30 days/);
    const tomorrow = await verifyScan(files.tomorrow, { certificates: certificates() });
    expect(tomorrow.verdict).toBe('valid');
    // The scan date is the verifier's: the same piece scanned 25 days later is still fine.
    const later = new Date(Date.now() + 25 * 86_400_000).toISOString().slice(0, 10);
    const inTime = await verifyScan(files.ahead, { certificates: certificates(), scanDate: later });
    expect(inTime.verdict).toBe('valid');
  });

  it('takes the worse of its own verdict and the data center answer, and says what it did not check offline', async () => {
    const offline = await verifyScan(files.valid, { certificates: certificates() });
    expect(offline.unchecked).toEqual(['duplicates', 'refunds']);
    expect(offline.line).toMatch(/\(offline: duplicates and refunds not checked; verify online/);
    const answers: Array<[string, string]> = [
      ['bad-signature', 'bad signature'],
      ['unknown-certificate', 'unknown certificate'],
      ['duplicate', 'duplicate'],
      ['something-new', 'unreadable'],
    ];
    for (const [said, label] of answers) {
      const report = await verifyScan(files.valid, {
        certificates: certificates(),
        server: async () => ({ verdict: said, reason: 'as the data center sees it' }),
      });
      expect(report.line.split(':')[0], said).toBe(label);
      expect(report.unchecked).toEqual([]);
    }
    // The data center cannot make a forgery or a demo sample valid.
    const forged = await verifyScan(files.forged, {
      certificates: certificates(),
      server: async () => ({ verdict: 'valid', reason: 'fine' }),
    });
    expect(forged.verdict).toBe('bad-signature');
    const demo = await verifyScan(files.demo, {
      certificates: certificates(),
      server: async () => ({ verdict: 'valid', reason: 'fine' }),
    });
    expect(demo.verdict).toBe('demo-sample');
  });

  it('takes certificates from any source, such as the data center directory', async () => {
    const asked: string[] = [];
    const online = {
      vendorCaPem: pki.caPem,
      find: async (serial: string) => {
        asked.push(serial);
        return pki.bundle.certificates[serial];
      },
    };
    expect((await verifyScan(files.valid, { certificates: online })).verdict).toBe('valid');
    expect(asked).toEqual([meter.serialHex]);
  });
});

describe('certificate bundle', () => {
  it('loads the documented JSON format', async () => {
    const source = await loadBundle(bundleFile);
    expect(source.vendorCaPem).toBe(pki.caPem);
    expect(await source.find(meter.serialHex)).toBe(meter.certPem);
    expect(await source.find('0000000000000000')).toBeUndefined();
    expect(await source.find('constructor')).toBeUndefined();
  });

  it('refuses malformed bundles with the format in the message', async () => {
    const bad: unknown[] = [
      [],
      { certificates: {} },
      { vendorCaPem: 'x', certificates: {} },
      { vendorCaPem: pki.caPem },
      { vendorCaPem: pki.caPem, certificates: { A1: meter.certPem } },
      { vendorCaPem: pki.caPem, certificates: { [meter.serialHex]: 5 } },
    ];
    for (const value of bad) {
      expect(() => parseBundle(value)).toThrow(/vendorCaPem.*certificates/);
    }
    await expect(loadBundle(join(dir, 'none.json'))).rejects.toMatchObject({
      code: 'VERIFY_BAD_BUNDLE',
      message: expect.stringMatching(/no such file/),
    });
    await expect(loadBundle(files.text)).rejects.toMatchObject({
      message: expect.stringMatching(/not valid JSON/),
    });
    expect(Object.keys(VERIFY_ERROR_CODES)).toContain('VERIFY_BAD_BUNDLE');
  });
});

describe('vpm verify', () => {
  /** `vpm verify ARGS`, run in this process (vpmInProcess) with its own output and input. */
  function vpm(args: string[]): Promise<RunResult> {
    // A fresh VPM_HOME: no data center is configured, so only the offline path is in play.
    return vpmInProcess(['verify', ...args], { env: { VPM_HOME: join(dir, 'vpm-home') } });
  }

  it('prints one verdict line and exits 0 only for valid postage', async () => {
    const [ok, forged, stranger, blank] = await Promise.all(
      [files.valid, files.forged, files.stranger, files.blank].map((f) =>
        vpm([f, '--certs', bundleFile]),
      ),
    );
    expect(ok?.code).toBe(0);
    expect(ok?.stdout).toMatch(/^valid: \$0\.73 .*\n$/);
    expect(ok?.stdout.split('\n').length).toBe(2);
    expect(forged?.code).toBe(5);
    expect(forged?.stdout).toMatch(/^bad signature: /);
    expect([stranger?.code, stranger?.stdout.split(':')[0]]).toEqual([5, 'unknown certificate']);
    expect([blank?.code, blank?.stdout.split(':')[0]]).toEqual([5, 'unreadable']);
  }, 120_000);

  it('exits 5 for a mailing date outside the window, 1 for a scan too large to read, and says offline what it did not check', async () => {
    const [ahead, huge, ok] = await Promise.all(
      [files.ahead, files.hugePdf, files.tomorrow].map((f) => vpm([f, '--certs', bundleFile])),
    );
    expect(ahead?.code).toBe(5);
    expect(ahead?.stdout).toMatch(/^wrong date: /);
    expect(huge?.code).toBe(1);
    expect(huge?.stderr).toMatch(/too large for a piece of mail/);
    expect(ok?.code).toBe(0);
    expect(ok?.stdout).toMatch(/offline: duplicates and refunds not checked/);
  }, 120_000);

  it('exits 0 for a demo sample only with --allow-sample', async () => {
    const strict = await vpm([files.demo, '--certs', bundleFile]);
    expect(strict.code).toBe(5);
    expect(strict.stdout).toMatch(/^demo sample: /);
    const allowed = await vpm([files.demo, '--certs', bundleFile, '--allow-sample']);
    expect(allowed.code).toBe(0);
  }, 120_000);

  it('without --certs and without a data center, says to pass --certs', async () => {
    const result = await vpm([files.valid]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--certs FILE/);
    expect(result.stdout).toBe('');
  }, 60_000);

  it('refuses a broken bundle as bad usage', async () => {
    const result = await vpm([files.valid, '--certs', files.text]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/not valid JSON/);
  }, 60_000);
});
