/**
 * End-to-end (issue 15): the real renderer in headless Chromium, its window API bridged to the
 * real client services, which talk to a real data center whose rate table was imported. The
 * return address is saved in the settings; on the new-piece screen a saved recipient fills the
 * address, the rate comparison lists every service for a 2 lb piece cheapest first, choosing
 * Priority Mail fills class and postage, and the 4×6 label prints with the return address and the
 * banner. A wrong city for its ZIP is refused with the suggestion and prints only once the mailer
 * ticks "Print the address as written". Screenshots in test-results/screenshots/.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Locator } from 'playwright-core';
import { createClientServices } from '../../client/services/index';
import type { DataCenterClient } from '../../client/services/datacenter-client';
import { type ClientRuntime, type ServiceContext } from '../../client/services/contract';
import { importRateTable } from '../../server-mock/index';
import { formatDollars } from '../../shared/money';
import { DEFAULT_SETTINGS, type Settings } from '../../shared/ipc';
import { testRateTable } from '../fixtures/rates/test-table';
import { startTestDataCenter, type TestDataCenter } from '../helpers/datacenter';
import { startApp, type AppHarness } from './harness';

const run = promisify(execFile);
const USERNAME = 'e2e-shipper';
const PASSWORD = 'correct horse battery staple';
const context: ServiceContext = { emit: () => undefined };

const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 20_000, interval: 100 });
const visible = (l: Locator) => l.waitFor({ state: 'visible', timeout: 20_000 });

describe('new-piece screen: rates, return address, address check (Chromium ↔ services ↔ data center)', () => {
  let tdc: TestDataCenter;
  let runtime: ClientRuntime;
  let app: AppHarness;
  let dataDir: string;
  let dc: DataCenterClient;
  let saved: Settings;
  let previousKeychain: string | undefined;

  beforeAll(async () => {
    previousKeychain = process.env.VPM_KEYCHAIN;
    process.env.VPM_KEYCHAIN = 'none';
    tdc = await startTestDataCenter();
    await importRateTable(tdc.dir, JSON.stringify(testRateTable('e2e-rates-1')));
    dataDir = await mkdtemp(path.join(tmpdir(), 'vpm-e2e-ship-'));
    saved = {
      ...DEFAULT_SETTINGS,
      serverUrl: tdc.running.url,
      caPath: tdc.running.caPath,
      demoMode: false,
    };
    runtime = await createClientServices({
      dataDir,
      settings: {
        load: async () => structuredClone(saved),
        save: async (s) => void (saved = structuredClone(s)),
      },
      appVersion: '0.0.0-e2e',
    });
    const s = runtime.services;
    await s['auth:signUp']({ username: USERNAME, password: PASSWORD, originZip: '10001' }, context);
    await s['addressBook:save'](
      {
        handle: 'dee',
        address: {
          name: 'Dee Wu',
          street: '7 Lake Drive',
          city: 'Austin',
          state: 'TX',
          zip: '78701',
        },
      },
      context,
    );
    dc = tdc.client();
    await dc.signIn({ username: USERNAME, password: PASSWORD });
    await dc.refill({
      amountCents: 10_000,
      cardNumber: '4242424242424242',
      idempotencyKey: 'e2e-ship-refill-0001',
    });
    app = await startApp({ services: runtime.services });
    const { page } = app;
    await visible(page.getByRole('heading', { name: 'Sign on' }));
    await page.getByLabel('Username').fill(USERNAME);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await visible(page.getByRole('heading', { name: 'Dashboard' }));
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await runtime?.close();
    await tdc?.close();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
    if (previousKeychain === undefined) delete process.env.VPM_KEYCHAIN;
    else process.env.VPM_KEYCHAIN = previousKeychain;
  }, 60_000);

  const nav = (name: string) =>
    app.page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name, exact: true });

  it('saves the return address in the settings', async () => {
    const { page } = app;
    await nav('Settings').click();
    await visible(page.getByRole('heading', { name: 'Settings' }));
    await page.getByLabel('Return name or business').fill('Acme Supply');
    await page.getByLabel('Return street address').fill('200 North Oak Street');
    await page.getByLabel('Return city').fill('New York');
    await page.getByLabel('Return state').fill('ny');
    await page.getByLabel('Return ZIP code').fill('10001');
    await app.screenshot('settings-return-address');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await visible(page.getByRole('status').filter({ hasText: 'Settings saved.' }));
    expect(saved.returnAddress).toEqual({
      name: 'Acme Supply',
      street: '200 North Oak Street',
      city: 'New York',
      state: 'NY',
      zip: '10001',
    });
  });

  it('compares the rates of every service, fills class and postage from the choice, and prints the label', async () => {
    const { page } = app;
    await nav('New mail piece').click();
    await visible(page.getByRole('heading', { name: 'New mail piece' }));
    await poll(() => page.getByLabel('Return address').textContent()).toContain('Acme Supply');
    await page.getByLabel('Saved recipient').selectOption('dee');
    await poll(() => page.getByLabel('Recipient name').inputValue()).toBe('Dee Wu');
    await poll(() => page.getByLabel('ZIP code').inputValue()).toBe('78701');
    await page.getByLabel('Weight (ounces)').fill('32');

    const table = page.getByRole('table', { name: 'Rate comparison' });
    await visible(table);
    const rows = table.locator('tbody tr');
    await poll(() => rows.count()).toBeGreaterThanOrEqual(4);
    const prices = (await rows.locator('td:nth-child(3)').allTextContents()).map((t) =>
      Math.round(Number(t.replace(/[$,]/g, '')) * 100),
    );
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    // The page shows what the services compute for the same piece.
    const expected = await runtime.services['rates:compare'](
      { destinationZip: '78701', weightOz: 32 },
      context,
    );
    expect(prices).toEqual(expected.offers.map((o) => o.postageCents));
    const priority = expected.offers.find((o) => o.mailClass === 'priority' && !o.packaging)!;
    expect(priority.zone).toBe(expected.zone);
    await poll(() => table.textContent()).toContain(`Priority Mail`);
    await app.screenshot('new-piece-rates');

    await page
      .getByRole('button', {
        name: `Choose Priority Mail at ${formatDollars(priority.postageCents)}`,
      })
      .click();
    await poll(() => page.getByLabel('Mail class').inputValue()).toBe('priority');
    await poll(() => page.getByLabel('Postage amount').inputValue()).toBe(
      (priority.postageCents / 100).toFixed(2),
    );
    await page.getByLabel('Medium', { exact: true }).selectOption('label4x6');
    await page.getByLabel('Printer').selectOption({ label: 'Save PDF only (no printer)' });
    const before = (await dc.account()).balanceCents;
    await page.getByRole('button', { name: 'Print postage' }).click();
    const status = page
      .getByRole('status')
      .filter({ hasText: `Postage of ${formatDollars(priority.postageCents)} issued` });
    await visible(status);
    await app.screenshot('new-piece-printed-label');
    expect((await dc.account()).balanceCents).toBe(before - priority.postageCents);
    const pdf = /PDF saved to (\S+\.pdf)\./.exec((await status.textContent()) ?? '')?.[1];
    expect(pdf).toBeDefined();
    const text = (await run('pdftotext', ['-layout', pdf!, '-'])).stdout;
    expect(text).toContain('USPS PRIORITY MAIL');
    expect(text).toContain('ACME SUPPLY');
    expect(text).toContain('7 LAKE DR');
  });

  it('refuses a wrong city for its ZIP with the suggestion, and prints it when the mailer confirms', async () => {
    const { page } = app;
    await page.getByLabel('Recipient name').fill('Ann Lee');
    await page.getByLabel('Street address').fill('1 Main Street');
    await page.getByLabel('City').fill('Chicago');
    await page.getByLabel('State').fill('IL');
    await page.getByLabel('ZIP code').fill('62701');
    await page.getByLabel('Amount I enter').check();
    await page.getByLabel('Postage amount').fill('0.78');
    await page.getByLabel('Mail class').selectOption('first-class');
    await page.getByLabel('Medium', { exact: true }).selectOption('env10');
    const before = (await dc.account()).balanceCents;
    await page.getByRole('button', { name: 'Print postage' }).click();
    const check = page.getByRole('group', { name: 'Address check' });
    await visible(check);
    await poll(() => check.textContent()).toContain(
      'ZIP 62701 is SPRINGFIELD, IL, not CHICAGO, IL',
    );
    await visible(page.getByRole('button', { name: /Use the suggestion: SPRINGFIELD, IL 62701/ }));
    await app.screenshot('new-piece-address-check');
    expect((await dc.account()).balanceCents).toBe(before);

    await page.getByLabel('Print the address as written').check();
    await page.getByRole('button', { name: 'Print postage' }).click();
    await visible(page.getByRole('status').filter({ hasText: 'Postage of $0.78 issued' }));
    expect((await dc.account()).balanceCents).toBe(before - 78);
  });

  it('prints a 4 × 6 label as ZPL for a 300-dpi thermal printer, and refuses ZPL on an envelope charging nothing', async () => {
    const { page } = app;
    await page.getByLabel('Saved recipient').selectOption('dee');
    await poll(() => page.getByLabel('ZIP code').inputValue()).toBe('78701');
    await page.getByLabel('Amount I enter').check();
    await page.getByLabel('Postage amount').fill('9.00');
    await page.getByLabel('Mail class').selectOption('priority');
    // Choosing ZPL picks the 4 × 6 label and a resolution (ZPL is written for one).
    await page.getByLabel('Output').selectOption('zpl');
    await poll(() => page.getByLabel('Medium', { exact: true }).inputValue()).toBe('label4x6');
    await poll(() => page.getByLabel('Resolution (dpi)').inputValue()).toBe('203');
    await page.getByLabel('Resolution (dpi)').selectOption('300');
    await page.getByLabel('Printer').selectOption({ label: 'Save ZPL only (no printer)' });
    await app.screenshot('new-piece-zpl-300dpi');

    // ZPL on an envelope: refused before anything is charged.
    await page.getByLabel('Medium', { exact: true }).selectOption('env10');
    let before = (await dc.account()).balanceCents;
    await page.getByRole('button', { name: 'Print postage' }).click();
    await visible(
      page.getByRole('alert').filter({ hasText: 'ZPL: prints on 4 × 6 label rolls only' }),
    );
    expect((await dc.account()).balanceCents).toBe(before);

    await page.getByLabel('Medium', { exact: true }).selectOption('label4x6');
    before = (await dc.account()).balanceCents;
    await page.getByRole('button', { name: 'Print postage' }).click();
    const status = page.getByRole('status').filter({ hasText: 'Postage of $9.00 issued' });
    await visible(status);
    expect((await dc.account()).balanceCents).toBe(before - 900);
    const message = (await status.textContent()) ?? '';
    const file = /ZPL saved to (\S+\.zpl)\./.exec(message)?.[1];
    const tracking = /Tracking (\d+)\./.exec(message)?.[1];
    expect(file).toBeDefined();
    expect(tracking).toMatch(/^94055/);
    const zpl = await readFile(file!, 'latin1');
    expect(zpl.startsWith('^XA')).toBe(true);
    // The indicium as a graphic at the printer's resolution: 48 modules × 6 dots = 288 dots a
    // side, 36 bytes a row; the IMpb the printer's own GS1-128 with the tracking number.
    expect(zpl).toMatch(/\^GFA,10368,10368,36,/);
    expect(zpl).toContain(`>;>842078701>8${tracking}^FS`);
  });

  it('the services refuse ZPL without a resolution, charging nothing', async () => {
    const before = (await dc.account()).balanceCents;
    await expect(
      runtime.services['piece:print'](
        {
          recipient: {
            name: 'Dee Wu',
            street: '7 Lake Dr',
            city: 'Austin',
            state: 'TX',
            zip: '78701',
          },
          postageCents: 900,
          mailClass: 'priority',
          media: 'label4x6',
          printer: null,
          format: 'zpl',
          idempotencyKey: 'e2e-zpl-no-dpi-0001',
        },
        context,
      ),
    ).rejects.toMatchObject({ code: 'PRINT_BAD_DPI' });
    expect((await dc.account()).balanceCents).toBe(before);
  });

  it('saw no page errors, console errors or CSP violations', () => {
    expect(app.problems).toEqual([]);
  });
});
