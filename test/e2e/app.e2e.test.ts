/**
 * End-to-end: the real renderer in headless Chromium, its window API bridged to the real client
 * services, which talk to a real data center (boxes as processes, HTTPS) on port 0. One flow,
 * in order: sign-up → sign-on → refill → print a piece (the PDF's Data Matrix is read back with
 * dmtxread and verifies) → batch with a bad row, then fixed → history, search, refund →
 * settings. One screenshot per screen in test-results/screenshots/. The balance the app shows
 * is compared with the data center's registers at every step.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { createClientServices } from '../../client/services/index';
import type { DataCenterClient } from '../../client/services/datacenter-client';
import { formatDollars } from '../../shared/money';
import { decodeIndicium } from '../../shared/indicium/codec';
import { verifyIndicium } from '../../shared/indicium/verify';
import { DEFAULT_SETTINGS, type Settings } from '../../shared/ipc';
import { type ClientRuntime, type SettingsStore } from '../../client/services/contract';
import { startTestDataCenter, type TestDataCenter } from '../helpers/datacenter';
import { startApp, type AppHarness } from './harness';

const run = promisify(execFile);

const USERNAME = 'e2e-mailer';
const PASSWORD = 'correct horse battery staple';
const ORIGIN_ZIP = '94103';
const CARD = '4242424242424242';

/** Retries until the value matches (the UI updates asynchronously). */
const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });

/** Web-first assertions on a locator, retried until they hold or 20 s pass. */
function see(locator: Locator) {
  const text = async () => ((await locator.textContent()) ?? '').trim();
  return {
    toBeVisible: () => locator.waitFor({ state: 'visible', timeout: 20_000 }),
    toHaveText: (t: string) => poll(text).toBe(t),
    toContainText: (t: string) => poll(text).toContain(t),
    toHaveAttribute: (name: string, value: string) =>
      poll(() => locator.getAttribute(name)).toBe(value),
    toHaveCount: (n: number) => poll(() => locator.count()).toBe(n),
    toHaveValue: (v: string) => poll(() => locator.inputValue()).toBe(v),
    toBeEnabled: () => poll(() => locator.isEnabled()).toBe(true),
    toBeDisabled: () => poll(() => locator.isDisabled()).toBe(true),
  };
}

/** The settings persistence: a plain in-memory store, as Electron main keeps a JSON file. */
function memorySettings(initial: Settings): SettingsStore & { saved: Settings } {
  const store = {
    saved: structuredClone(initial),
    load: async () => structuredClone(store.saved),
    save: async (s: Settings) => {
      store.saved = structuredClone(s);
    },
  };
  return store;
}

/** Reads the first Data Matrix of a PDF's first page: pdftoppm → PNG → dmtxread (raw bytes). */
async function readIndiciumFromPdf(pdf: string, workDir: string): Promise<Uint8Array> {
  const prefix = path.join(workDir, `${path.basename(pdf, '.pdf')}-${Date.now()}`);
  await run('pdftoppm', ['-r', '200', '-png', '-f', '1', '-l', '1', '-singlefile', pdf, prefix]);
  const { stdout } = await run('dmtxread', ['-N1', `${prefix}.png`], {
    encoding: 'buffer',
    timeout: 30_000,
    maxBuffer: 1 << 20,
  });
  return new Uint8Array(stdout);
}

async function newestPdf(dir: string): Promise<string | undefined> {
  let best: { file: string; mtime: number } | undefined;
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, entry.name);
      if (entry.isDirectory()) await walk(p);
      else if (entry.name.endsWith('.pdf')) {
        const { mtimeMs } = await stat(p);
        if (!best || mtimeMs > best.mtime) best = { file: p, mtime: mtimeMs };
      }
    }
  };
  await walk(dir);
  return best?.file;
}

describe('desktop app, end to end (renderer in Chromium ↔ client services ↔ data center)', () => {
  let tdc: TestDataCenter;
  let runtime: ClientRuntime;
  let app: AppHarness;
  let settings: ReturnType<typeof memorySettings>;
  let dataDir: string;
  let workDir: string;
  let dc: DataCenterClient;
  let previousKeychain: string | undefined;
  let singlePieceId = '';
  const singleCents = 78;
  const batchCents = [78, 95, 116];

  const balanceInTopBar = () => app.page.getByRole('banner').getByLabel('Balance');
  const nav = (name: string) =>
    app.page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });

  /** The balance the app shows equals the data center's descending register. */
  async function expectRegistersMatch(expectedCents: number) {
    const account = await dc.account();
    expect(account.balanceCents).toBe(expectedCents);
    await see(balanceInTopBar()).toHaveText(formatDollars(account.balanceCents));
    return account;
  }

  beforeAll(async () => {
    previousKeychain = process.env.VPM_KEYCHAIN;
    process.env.VPM_KEYCHAIN = 'none';
    tdc = await startTestDataCenter();
    dataDir = await mkdtemp(path.join(tmpdir(), 'vpm-e2e-client-'));
    workDir = await mkdtemp(path.join(tmpdir(), 'vpm-e2e-work-'));
    settings = memorySettings({
      ...DEFAULT_SETTINGS,
      serverUrl: tdc.running.url,
      caPath: tdc.running.caPath,
      demoMode: false,
    });
    runtime = await createClientServices({
      dataDir,
      settings,
      appVersion: '0.0.0-e2e',
      log: (level, message) => {
        if (level === 'error') console.error(message);
      },
    });
    app = await startApp({ services: runtime.services });
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    await tdc?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (workDir) await rm(workDir, { recursive: true, force: true });
    if (previousKeychain === undefined) delete process.env.VPM_KEYCHAIN;
    else process.env.VPM_KEYCHAIN = previousKeychain;
  }, 60_000);

  it('signs up a new mailer', async () => {
    const { page } = app;
    await see(page.getByRole('heading', { name: 'Sign on' })).toBeVisible();
    await page.getByRole('button', { name: 'Create an account' }).click();
    await page.getByLabel('Name or business (optional)').fill('E2E Mail Room');
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByLabel('Confirm password').fill(PASSWORD);
    await page.getByLabel('Origin ZIP code').fill(ORIGIN_ZIP);
    await app.screenshot('sign-up');
    await page.getByRole('button', { name: 'Create account' }).click();
    await see(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
    await see(balanceInTopBar()).toHaveText('$0.00');

    // The account exists at the data center: sign in there independently.
    dc = tdc.client();
    await dc.signIn({ username: USERNAME, password: PASSWORD });
    const account = await dc.account();
    expect(account.username).toBe(USERNAME);
    expect(account.originZip).toBe(ORIGIN_ZIP);
    expect(account.balanceCents).toBe(0);
  });

  it('signs out and signs on again', async () => {
    const { page } = app;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await see(page.getByRole('heading', { name: 'Sign on' })).toBeVisible();
    await see(page.getByRole('button', { name: 'Sign in' })).toBeEnabled();

    // A wrong password is refused next to the password field.
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await see(page.getByLabel('Password')).toHaveAttribute('aria-invalid', 'true');
    expect(app.calls.at(-1)).toMatchObject({ channel: 'auth:signIn', ok: false });

    await page.getByLabel('Password').fill(PASSWORD);
    await app.screenshot('sign-on');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await see(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
    await see(nav('Dashboard')).toHaveAttribute('aria-current', 'page');
    expect(app.calls.at(-1)).toMatchObject({ channel: 'auth:signIn', ok: true });
  });

  it('refills $50 by card and shows the new balance', async () => {
    const { page } = app;
    await page.getByLabel('Refill amount').fill('50');
    await page.getByLabel('Card number').fill(CARD);
    await page.getByRole('button', { name: 'Refill', exact: true }).click();
    await see(page.getByRole('status').filter({ hasText: 'Added $50.00' })).toBeVisible();
    const account = await expectRegistersMatch(5000);
    await see(page.locator('.stat-value').first()).toHaveText('$50.00');
    expect(account.ascendingCents).toBe(0);
    await app.screenshot('dashboard');
  });

  it('prints one piece to a PDF whose indicium decodes and verifies', async () => {
    const { page } = app;
    await nav('New mail piece').click();
    await see(page.getByRole('heading', { name: 'New mail piece' })).toBeVisible();
    await page.getByLabel('Recipient name').fill('Ada Lovelace');
    await page.getByLabel('Street address').fill('12 Analytical Engine Way');
    await page.getByLabel('Apartment, suite (optional)').fill('Suite 3');
    await page.getByLabel('City').fill('Arlington');
    await page.getByLabel('State').fill('va');
    await page.getByLabel('ZIP code').fill('22201-1234');
    // No USB scale on this machine: the button says so and the typed weight stays.
    await page.getByRole('button', { name: 'Weigh on the USB scale' }).click();
    await see(
      page.getByText(/no USB postal scale is attached|node-hid\) is not installed/),
    ).toBeVisible();
    await see(page.getByLabel('Weight (ounces)')).toHaveValue('1');
    await page.getByLabel('Amount I enter').check();
    await page.getByLabel('Postage amount').fill('0.78');
    await page.getByLabel('Medium', { exact: true }).selectOption('env10');
    await page.getByLabel('Printer').selectOption({ label: 'Save PDF only (no printer)' });
    await see(page.getByText('Postage: $0.78')).toBeVisible();
    // Dated two days ahead (inside the data center's 7-day window).
    const later = new Date(Date.now() + 2 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel('Mailing date').fill(later);

    // The live preview: an SVG image laid out for the typed recipient.
    const preview = page.getByRole('img', {
      name: 'Preview of the mail piece with a sample indicium',
    });
    await see(preview).toBeVisible();
    await poll(async () => decodeURIComponent((await preview.getAttribute('src')) ?? '')).toMatch(
      /ADA LOVELACE[\s\S]*\$0\.78|\$0\.78[\s\S]*ADA LOVELACE/,
    );
    // The SVG actually loaded as an image under the CSP (decoded, with a size).
    await poll(() =>
      preview.evaluate((el) => {
        const img = el as unknown as { complete: boolean; naturalWidth: number };
        return img.complete && img.naturalWidth > 0;
      }),
    ).toBe(true);

    await page.getByRole('button', { name: 'Print postage' }).click();
    const status = page.getByRole('status').filter({ hasText: 'Postage of $0.78 issued' });
    await see(status).toBeVisible();
    const text = (await status.textContent()) ?? '';
    singlePieceId = /\(piece ([^)\s]+)\)/.exec(text)?.[1] ?? '';
    expect(singlePieceId).not.toBe('');
    const pdfPath = /PDF saved to (.+\.pdf)\./.exec(text)?.[1] ?? (await newestPdf(dataDir));
    expect(pdfPath).toBeDefined();
    expect((await stat(pdfPath as string)).size).toBeGreaterThan(0);
    expect(path.resolve(pdfPath as string).startsWith(path.resolve(dataDir))).toBe(true);
    expect(app.calls.filter((c) => c.channel === 'piece:print')).toEqual([
      { channel: 'piece:print', ok: true },
    ]);

    // The printed Data Matrix, read back from pixels, is a valid indicium of this meter.
    const bytes = await readIndiciumFromPdf(pdfPath as string, workDir);
    const decoded = decodeIndicium(bytes);
    const account = await expectRegistersMatch(5000 - singleCents);
    expect(decoded.fields.deviceId).toBe(account.meterSerial);
    expect(decoded.fields.postageCents).toBe(singleCents);
    expect(decoded.fields.originZip).toBe(ORIGIN_ZIP);
    expect(decoded.fields.mailingDate).toBe(later);
    expect(account.ascendingCents).toBe(singleCents);
    const bundle = await dc.certificates();
    const verdict = await verifyIndicium(bytes, {
      vendorCaPem: bundle.vendorCaPem,
      find: (serial) => bundle.certificates[serial],
    });
    expect(verdict.verdict, verdict.reason).toBe('valid');
    await app.screenshot('new-piece');
  });

  it('refuses a batch with a bad row, then prints the fixed file', async () => {
    const { page } = app;
    await nav('Batch').click();
    await see(page.getByRole('heading', { name: 'Batch' })).toBeVisible();
    const header = 'name,street,city,state,zip,mail_class,weight_oz,postage';
    const good = [
      'Grace Hopper,1 Cobol Ct,Arlington,VA,22202,first-class,1,0.78',
      'Alan Turing,2 Enigma Rd,Boston,MA,02110,first-class,1,0.95',
      'Edsger Dijkstra,3 Shortest Path,Austin,TX,78701-0001,first-class,2,1.16',
    ];
    const bad = 'Bad Zip,4 Nowhere St,Denver,CO,8020X,first-class,1,0.78';
    const upload = (name: string, lines: string[]) =>
      page.getByLabel('CSV address list').setInputFiles({
        name,
        mimeType: 'text/csv',
        buffer: Buffer.from([header, ...lines].join('\n') + '\n'),
      });

    await upload('mailing-bad.csv', [good[0] as string, good[1] as string, bad, good[2] as string]);
    await see(page.getByRole('status').filter({ hasText: '4 rows, 1 with errors' })).toBeVisible();
    const badRow = page.getByRole('row').filter({ hasText: 'Error:' });
    await see(badRow).toHaveCount(1);
    await see(badRow).toContainText('8020X');
    await see(badRow.getByRole('cell').first()).toHaveText('4'); // header is line 1
    const printButton = page.getByRole('button', { name: /^Print \d+ pieces?/ });
    await see(printButton).toBeDisabled();
    expect(app.calls.some((c) => c.channel === 'batch:run')).toBe(false);
    await expectRegistersMatch(5000 - singleCents);

    await upload('mailing.csv', good);
    const total = batchCents.reduce((a, b) => a + b, 0);
    await see(
      page
        .getByRole('status')
        .filter({ hasText: `3 rows, no errors, total postage ${formatDollars(total)}` }),
    ).toBeVisible();
    await see(page.getByRole('row').filter({ hasText: 'Error:' })).toHaveCount(0);
    await page.getByLabel('Printer').selectOption({ label: 'Save PDF only (no printer)' });
    await see(printButton).toHaveText('Print 3 pieces');
    await printButton.click();
    const done = page.getByRole('status').filter({ hasText: 'Printed 3 pieces in one job' });
    await see(done).toBeVisible();
    const progress = page.getByRole('progressbar', { name: 'Batch progress' });
    await see(progress).toHaveAttribute('value', '3');
    await see(progress).toHaveAttribute('max', '3');
    const batchPdf = /PDF saved to (.+\.pdf)\./.exec((await done.textContent()) ?? '')?.[1];
    expect(batchPdf).toBeDefined();
    expect((await stat(batchPdf as string)).size).toBeGreaterThan(0);
    const account = await expectRegistersMatch(5000 - singleCents - total);
    expect(account.ascendingCents).toBe(singleCents + total);
    await app.screenshot('batch');

    // The same list chosen again is known by its rows: nothing is charged until the mailer
    // confirms "print again" (Cancel here; the confirmed run is tested in the services).
    await upload('mailing-copy.csv', good);
    await see(printButton).toHaveText('Print 3 pieces');
    await printButton.click();
    const ask = page
      .getByRole('status')
      .filter({ hasText: 'This list was printed in full before' });
    await see(ask).toBeVisible();
    const confirm = ask.getByRole('button', {
      name: `Print again and charge ${formatDollars(total)}`,
    });
    await see(confirm).toBeVisible();
    expect(app.calls.filter((c) => c.channel === 'batch:run').at(-1)).toEqual({
      channel: 'batch:run',
      ok: false,
      code: 'BATCH_ALREADY_PRINTED',
    });
    await ask.getByRole('button', { name: 'Cancel' }).click();
    await see(ask).toHaveCount(0);
    await expectRegistersMatch(5000 - singleCents - total);
  });

  it('lists the pieces, searches them and refunds one', async () => {
    const { page } = app;
    await nav('History').click();
    await see(page.getByRole('heading', { name: 'History' })).toBeVisible();
    const rows = page.locator('tbody tr');
    await see(rows).toHaveCount(4);
    const history = await dc.history({ pageSize: 50 });
    expect(history.total).toBe(4);
    expect(history.items.map((i) => i.postageCents).sort((a, b) => a - b)).toEqual(
      [singleCents, ...batchCents].sort((a, b) => a - b),
    );

    // Search by destination ZIP: only Alan Turing's piece (02110).
    await page.getByLabel('Search history').fill('02110');
    await see(rows).toHaveCount(1);
    await see(rows.first()).toContainText('$0.95');
    // Search by piece id: only the single piece.
    await page.getByLabel('Search history').fill(singlePieceId);
    await see(rows).toHaveCount(1);
    await see(rows.first()).toContainText(singlePieceId.slice(0, 8));
    await see(rows.first()).toContainText('Issued');
    // Search by the tracking number the data center assigned: the same piece, showing it.
    const tracking = history.items.find((i) => i.pieceId === singlePieceId)?.trackingNumber ?? '';
    expect(tracking).toMatch(/^\d{20}$/);
    await page.getByLabel('Search history').fill(tracking);
    await see(rows).toHaveCount(1);
    await see(rows.first()).toContainText(tracking);

    const before = (await dc.account()).balanceCents;
    await page.getByRole('button', { name: `Refund piece ${singlePieceId}`, exact: true }).click();
    await page
      .getByRole('button', { name: `Confirm refund of piece ${singlePieceId}`, exact: true })
      .click();
    await see(
      page.getByRole('status').filter({ hasText: `Refunded $0.78 for piece ${singlePieceId}` }),
    ).toBeVisible();
    await see(rows.first()).toContainText('Refunded');
    await see(
      page.getByRole('button', { name: `Refund piece ${singlePieceId}`, exact: true }),
    ).toHaveCount(0);
    await expectRegistersMatch(before + singleCents);
    const refunded = await dc.history({ q: singlePieceId, pageSize: 5 });
    expect(refunded.items.find((i) => i.pieceId === singlePieceId)?.status).toBe('refunded');

    await page.getByLabel('Search history').fill('');
    await see(rows).toHaveCount(4);
    await app.screenshot('history');
  });

  it('saves the default medium and calibration and reloads them', async () => {
    const { page } = app;
    const printers = await runtime.services['printers:list']({}, { emit: () => undefined });
    await nav('Settings').click();
    await see(page.getByRole('heading', { name: 'Settings' })).toBeVisible();
    await see(page.getByLabel('Data center URL')).toHaveValue(tdc.running.url);
    await page.getByLabel('Default medium').selectOption('label4x6');
    const calPrinter = printers[0]?.name;
    if (calPrinter !== undefined) {
      await see(page.getByLabel('Calibrate printer')).toHaveValue(calPrinter);
      await page.getByLabel('Horizontal offset (mm)').fill('1.5');
      await page.getByLabel('Vertical offset (mm)').fill('-0.75');
    } else {
      await see(page.getByText('No printers found.')).toBeVisible();
    }
    await page.getByLabel('Intelligent Mail barcode on envelopes').check();
    await page.getByRole('button', { name: 'Save settings' }).click();
    await see(page.getByRole('status').filter({ hasText: 'Settings saved.' })).toBeVisible();
    expect(settings.saved.imb).toBe(true);
    expect(settings.saved.defaultMedia).toBe('label4x6');
    expect(settings.saved.serverUrl).toBe(tdc.running.url);
    expect(settings.saved.caPath).toBe(tdc.running.caPath);
    if (calPrinter !== undefined)
      expect(settings.saved.calibration[calPrinter]).toEqual({ xMm: 1.5, yMm: -0.75 });

    // Reload: leave the screen, come back; the values come from the store again.
    await nav('Dashboard').click();
    await see(page.getByRole('heading', { name: 'Dashboard' })).toBeVisible();
    await nav('Settings').click();
    await see(page.getByLabel('Default medium')).toHaveValue('label4x6');
    await poll(() => page.getByLabel('Intelligent Mail barcode on envelopes').isChecked()).toBe(
      true,
    );
    if (calPrinter !== undefined) {
      await see(page.getByLabel('Horizontal offset (mm)')).toHaveValue('1.5');
      await see(page.getByLabel('Vertical offset (mm)')).toHaveValue('-0.75');
    }
    await app.screenshot('settings');

    // The new default medium is what the print screens start with.
    await nav('New mail piece').click();
    await see(page.getByLabel('Medium', { exact: true })).toHaveValue('label4x6');
    // Still signed in to the same data center, registers unchanged.
    await expectRegistersMatch(5000 - batchCents.reduce((a, b) => a + b, 0));
  });

  it('saw no page errors, console errors or CSP violations', () => {
    expect(app.problems).toEqual([]);
    expect(app.calls.filter((c) => !c.ok)).toEqual([
      { channel: 'auth:signIn', ok: false, code: 'BAD_CREDENTIALS' },
      // "Weigh on the USB scale" with no scale attached (or node-hid not installed).
      {
        channel: 'scale:read',
        ok: false,
        code: expect.stringMatching(/^SCALE_(NONE|UNAVAILABLE)$/),
      },
      // The same batch list chosen again, before the mailer confirmed "print again".
      { channel: 'batch:run', ok: false, code: 'BATCH_ALREADY_PRINTED' },
    ]);
  });
});
