/**
 * Rates as data the data center serves (issue 15), against a real data center (boxes as
 * processes, HTTPS): GET /v1/rates is the table in force signed by the transaction box, whose
 * certificate the vendor CA issued; the client checks it, caches it and prices offline from the
 * cache; an import changes prices with no code change; a bad import changes nothing; a forged
 * table, a table signed under another vendor CA and an edited cache are refused.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { comparePiece } from '../../../client/rates/compare';
import { RateStore } from '../../../client/rates/rate-store';
import { RateSignatureError, verifySignedRateTable } from '../../../client/rates/rate-signature';
import { rateSource } from '../../../client/rates/rate-sync';
import { currentRateTable, importRateTable } from '../../../server-mock/index';
import { RateTableError } from '../../../shared/rates/rate-table';
import { SHIPPED_RATE_TABLE } from '../../../shared/rates/shipped-table';
import { testRateTable } from '../../fixtures/rates/test-table';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';

let t: TestDataCenter;
beforeAll(async () => {
  t = await startTestDataCenter();
}, 120_000);
afterAll(async () => {
  await t?.close();
});

const priorityCents = async (table: Parameters<typeof comparePiece>[0], to: string) =>
  (await comparePiece(table, { originZip: '10001', destinationZip: to, weightOz: 32 })).offers.find(
    (o) => o.mailClass === 'priority' && !o.packaging,
  )?.postageCents;

describe('GET /v1/rates', { timeout: 120_000 }, () => {
  it('serves the shipped table signed by the transaction box under the vendor CA', async () => {
    const served = await t.client().rates();
    expect(served.table).toEqual(SHIPPED_RATE_TABLE);
    expect(served.vendorCaPem).toBe(await readFile(join(t.dir, 'boxes', 'vendor-ca.pem'), 'utf8'));
    expect(() => verifySignedRateTable(served, served.vendorCaPem)).not.toThrow();
    // One price changed after signing: refused.
    const forged = structuredClone(served);
    forged.table.services[0]!.steps[0]!.cents = [1];
    expect(() => verifySignedRateTable(forged, served.vendorCaPem)).toThrow(
      /signature does not match/,
    );
    // Checked against another vendor's CA (another data center): refused.
    const other = await startTestDataCenter();
    try {
      const foreign = await other.client().rates();
      expect(() => verifySignedRateTable(served, foreign.vendorCaPem)).toThrow(RateSignatureError);
      expect(() => verifySignedRateTable(served, foreign.vendorCaPem)).toThrow(
        /vendor CA did not issue/,
      );
    } finally {
      await other.close();
    }
  });

  it('an import changes prices with no code change; the client caches it and works offline', async () => {
    const home = await mkdtemp(join(tmpdir(), 'vpm-rates-client-'));
    const store = new RateStore(home);
    const fetchRates = { serverUrl: t.running.url, fetch: () => t.client().rates() };
    const before = await rateSource(store, fetchRates);
    expect(before.from).toBe('data center');
    // The shipped table: Notice 123 Priority Mail retail, 2 lb, zone 8 (docs/rates.md).
    expect(await priorityCents(before.table, '90001')).toBe(2155);

    await importRateTable(t.dir, JSON.stringify(testRateTable('test-1')));
    const first = await rateSource(store, fetchRates, { refresh: true });
    expect(first.table.version).toBe('test-1');
    const near = await priorityCents(first.table, '10016');
    const far = await priorityCents(first.table, '90001');
    expect(far).toBeGreaterThan(near!);

    await importRateTable(t.dir, JSON.stringify(testRateTable('test-2', 1.5)));
    const second = await rateSource(store, fetchRates, { refresh: true });
    expect(second.table.version).toBe('test-2');
    expect(await priorityCents(second.table, '90001')).toBe(Math.round(far! * 1.5));

    // Offline: the data center cannot be reached; the cached, verified table prices.
    const offline = await rateSource(
      store,
      { serverUrl: t.running.url, fetch: () => Promise.reject(new Error('connect ECONNREFUSED')) },
      { refresh: true },
    );
    expect(offline).toMatchObject({ from: 'cache', offline: 'connect ECONNREFUSED' });
    expect(offline.table.version).toBe('test-2');

    // An edited cache (a cheaper price written into rates.json) is refused, never priced from.
    const file = join(home, 'rates.json');
    const cached = JSON.parse(await readFile(file, 'utf8'));
    cached.table.services.find(
      (s: { mailClass: string }) => s.mailClass === 'priority',
    ).steps[1].cents[7] = 1;
    await writeFile(file, JSON.stringify(cached));
    await expect(
      store.cached(async (s) =>
        verifySignedRateTable(s, await readFile(join(home, 'vendor-ca.pem'), 'utf8')),
      ),
    ).rejects.toThrow(/cached rate table is not valid.*signature does not match/);
    const afterEdit = await rateSource(store);
    expect(afterEdit.from).toBe('shipped');
  });

  it('refuses a bad table with every problem, and changes nothing', async () => {
    const inForce = await currentRateTable(t.dir);
    const bad = testRateTable('test-bad');
    bad.services.find((s) => s.mailClass === 'priority')!.steps[3]!.cents.pop();
    (bad as { effectiveDate: string }).effectiveDate = '2025-13-01';
    await expect(importRateTable(t.dir, JSON.stringify(bad))).rejects.toThrow(RateTableError);
    await expect(importRateTable(t.dir, JSON.stringify(bad))).rejects.toThrow(
      /effectiveDate[\s\S]*9 price\(s\) expected/,
    );
    await expect(importRateTable(t.dir, '{ not json')).rejects.toThrow(/not JSON/);
    // A version used before with other prices.
    await expect(
      importRateTable(t.dir, JSON.stringify(testRateTable('test-1', 2))),
    ).rejects.toThrow(/test-1 was imported before with other prices/);
    expect(await currentRateTable(t.dir)).toEqual(inForce);
    expect((await t.client().rates()).table.version).toBe(inForce.table.version);
  });
});
