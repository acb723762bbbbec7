/**
 * Shipping labels end to end through `vpm` command lines (run in this process, see vpmInProcess)
 * and a real data center process started with a USPS Mailer ID and a 3-day mailing window: a
 * Priority Mail label whose tracking number the data center assigned (IMpb read back by zbarimg
 * from the PDF, its check digit computed here, the indicium by dmtxread); ZPL for a 203-dpi
 * printer; history shows and finds the tracking number; a mailing date inside the window is
 * carried in the indicium, one outside it is refused and charges nothing; and `vpm scale` says so
 * when no scale is attached.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIndicium } from '../../shared/indicium/codec';
import {
  startDataCenterProcess,
  vpmInProcess as vpm,
  type DataCenterProcess,
} from '../helpers/cli';
import { dmtxHex, run } from './print/helpers';

const MID = '912345678';
let dc: DataCenterProcess;
let dir: string;
let env: NodeJS.ProcessEnv;

/** GS1 / USPS mod 10 (weights 3, 1 from the right), written here from the published rule. */
function checkDigitOk(digits: string): boolean {
  const body = digits.slice(0, -1).split('').reverse();
  const sum = body.reduce((s, d, i) => s + Number(d) * (i % 2 === 0 ? 3 : 1), 0);
  return (10 - (sum % 10)) % 10 === Number(digits.slice(-1));
}

const balance = async (): Promise<number> =>
  (JSON.parse((await vpm(['balance', '--json'], { env })).stdout) as { balanceCents: number })
    .balanceCents;

const day = (offset: number): string =>
  new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  dc = await startDataCenterProcess({
    startArgs: ['--mailer-id', MID, '--mailing-window-days', '3'],
  });
  dir = await mkdtemp(join(tmpdir(), 'vpm-labels-'));
  env = { VPM_HOME: dir, VPM_KEYCHAIN: 'none', VPM_SERVER: dc.url, VPM_CA: dc.caPath };
  const password = { env, input: 'a long office password\n' };
  const up = await vpm(
    ['signup', '--user', 'shipper', '--zip', '30301', '--name', 'Shipper', '--password-stdin'],
    password,
  );
  expect(up.code, up.stderr).toBe(0);
  expect((await vpm(['login', '--user', 'shipper', '--password-stdin'], password)).code).toBe(0);
  const refill = await vpm(['refill', '100', '--card-stdin'], { env, input: '4242424242424242\n' });
  expect(refill.code, refill.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await dc?.stop();
});

const TO = 'Ada Lovelace, 12 Analytical Way, Alameda, CA 94501';

describe('shipping labels from the command line', { timeout: 240_000 }, () => {
  let tracking: string;

  it('prints a Priority Mail label with the tracking number the data center assigned', async () => {
    const pdf = join(dir, 'label.pdf');
    const r = await vpm(
      [
        'print',
        '--to',
        TO,
        '--postage',
        '10.45',
        '--class',
        'priority',
        '--media',
        'label4x6',
        '--out',
        pdf,
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    tracking = /Tracking (\d+)\./.exec(r.stdout)?.[1] ?? '';
    // 94, Priority Mail's service type 055, the data center's MID, a serial, the check digit.
    expect(tracking).toMatch(new RegExp(`^94055${MID}\\d{8}$`));
    expect(checkDigitOk(tracking)).toBe(true);
    const png = join(dir, 'label');
    expect((await run('pdftoppm', ['-r', '300', '-png', '-singlefile', pdf, png])).code).toBe(0);
    const impb = await run('zbarimg', [
      '-q',
      '--raw',
      '-Sdisable',
      '-Scode128.enable',
      `${png}.png`,
    ]);
    expect(impb.stdout.toString('latin1').trimEnd()).toBe(`42094501\x1d${tracking}`);
    const bytes = Buffer.from((await dmtxHex(`${png}.png`)) ?? '', 'hex');
    expect(decodeIndicium(bytes).fields.mailClass).toBe('priority');
    const text = (await run('pdftotext', ['-layout', pdf, '-'])).stdout.toString();
    expect(text).toContain('USPS PRIORITY MAIL');
    expect(text).toMatch(/SHIP TO:\s+ADA LOVELACE/);
  });

  it('shows the tracking number in the history and finds the piece by it', async () => {
    const h = await vpm(['history', '--search', tracking.slice(-10)], { env });
    expect(h.code, h.stderr).toBe(0);
    expect(h.stdout).toContain(`tracking ${tracking}`);
    expect(h.stdout).toContain('(1 piece');
    const none = await vpm(['history', '--search', '99999999999'], { env });
    expect(none.stdout).not.toContain('tracking');
    const csv = await vpm(['history', '--csv'], { env });
    expect(csv.stdout).toContain(`,${tracking}\n`);
  });

  it('writes ZPL for a 203-dpi printer, with the IMpb as the printer’s own GS1-128', async () => {
    const file = join(dir, 'label.zpl');
    const r = await vpm(
      [
        'print',
        '--to',
        TO,
        '--postage',
        '5.00',
        '--class',
        'ground-advantage',
        '--media',
        'label4x6',
        '--format',
        'zpl',
        '--dpi',
        '203',
        '--out',
        file,
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    const t = /Tracking (\d+)\./.exec(r.stdout)?.[1] ?? '';
    expect(t).toMatch(new RegExp(`^94001${MID}`));
    const zpl = await readFile(file, 'latin1');
    expect(zpl).toContain(`^FD>;>842094501>8${t}^FS`);
    expect(zpl).toMatch(/\^GFA,4608,4608,24,/); // 48 modules × 4 dots, 24 bytes a row
  });

  it('gives a weighed Ground Advantage parcel of a pound or more its service type 346 (001 under a pound)', async () => {
    for (const [weight, stc] of [
      ['2lb', '346'],
      ['12oz', '001'],
    ] as const) {
      const r = await vpm(
        [
          'print',
          '--to',
          TO,
          '--weight',
          weight,
          '--class',
          'ground-advantage',
          '--media',
          'label4x6',
          '--out',
          join(dir, `weighed-${weight}.pdf`),
        ],
        { env },
      );
      expect(r.code, r.stderr).toBe(0);
      const t = /Tracking (\d+)\./.exec(r.stdout)?.[1] ?? '';
      expect(t).toMatch(new RegExp(`^94${stc}${MID}\\d{7}\\d$`));
    }
  });

  it('carries a later mailing date inside the window in the indicium, and refuses one outside it, charging nothing', async () => {
    const pdf = join(dir, 'later.pdf');
    const later = day(3);
    const ok = await vpm(
      [
        'print',
        '--to',
        TO,
        '--postage',
        '0.78',
        '--media',
        'env10',
        '--mailing-date',
        later,
        '--out',
        pdf,
      ],
      { env },
    );
    expect(ok.code, ok.stderr).toBe(0);
    const png = join(dir, 'later');
    await run('pdftoppm', ['-r', '200', '-png', '-singlefile', pdf, png]);
    const bytes = Buffer.from((await dmtxHex(`${png}.png`)) ?? '', 'hex');
    expect(decodeIndicium(bytes).fields.mailingDate).toBe(later);
    expect((await run('pdftotext', [pdf, '-'])).stdout.toString()).toContain(`Mailed ${later}`);

    const before = await balance();
    for (const date of [day(4), day(-1)]) {
      const refused = await vpm(
        [
          'print',
          '--to',
          TO,
          '--postage',
          '0.78',
          '--mailing-date',
          date,
          '--out',
          join(dir, 'x.pdf'),
        ],
        { env },
      );
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/mailing date .*within 3 days; nothing was charged/);
    }
    expect(await balance()).toBe(before);
  });

  it('prints the Intelligent Mail barcode on envelopes once the setting is on (65 more bars)', async () => {
    /** Rectangles in the page's decompressed content (mutool clean -d), not the symbol's runs. */
    const rectangles = async (pdf: string): Promise<number> => {
      const plain = `${pdf}.plain.pdf`;
      expect((await run('mutool', ['clean', '-d', pdf, plain])).code).toBe(0);
      const all = [...(await readFile(plain, 'latin1')).matchAll(/(\S+) (\S+) (\S+) (\S+) re\n/g)];
      // The Data Matrix is drawn in module units: runs one module high.
      return all.filter((m) => m[4] !== '1').length;
    };
    const letter = async (name: string): Promise<string> => {
      const pdf = join(dir, name);
      const r = await vpm(['print', '--to', TO, '--postage', '0.78', '--out', pdf], { env });
      expect(r.code, r.stderr).toBe(0);
      return pdf;
    };
    const off = await rectangles(await letter('imb-off.pdf'));
    const set = await vpm(['settings', '--imb', 'on'], { env });
    expect(set.stdout).toContain('Intelligent Mail barcode on envelopes: on');
    const on = await rectangles(await letter('imb-on.pdf'));
    expect(on - off).toBe(65);
    expect((await vpm(['settings', '--imb', 'off'], { env })).stdout).toContain(': off');
    const again = await rectangles(await letter('imb-off-again.pdf'));
    expect(again).toBe(off);
  });

  it('says that no scale is attached, and changes nothing', async () => {
    const r = await vpm(['scale'], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no USB postal scale is attached|node-hid\) is not installed/);
  });
});
