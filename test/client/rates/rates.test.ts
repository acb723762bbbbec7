/**
 * Rates as data and zones from ZIP coordinates: pricing by weight, zone, size and flat-rate
 * packaging; refusals of what a service does not take; the shipped table's Notice 123 figures; an imported zone chart takes precedence over distances.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pinnedVendorCa } from '../../../client/rates/rate-signature';
import { comparePiece } from '../../../client/rates/compare';
import { parseDims, parseWeight } from '../../../client/rates/parse';
import { parseZoneChart, zoneChart } from '../../../client/rates/zone-chart';
import { greatCircleMiles, zoneBetween, zoneOfMiles } from '../../../client/rates/zones';
import { checkRateTable, RateTableError } from '../../../shared/rates/rate-table';
import { priceService, RateError } from '../../../shared/rates/price';
import { SHIPPED_RATE_TABLE } from '../../../shared/rates/shipped-table';
import { testRateTable } from '../../fixtures/rates/test-table';

describe('zones', () => {
  it('bands distances as USPS does: 1 to 50 mi, 2 to 150 … 8 beyond 1800', () => {
    expect([10, 50, 51, 150, 300, 301, 600, 1000, 1400, 1800, 1801].map(zoneOfMiles)).toEqual([
      1, 1, 2, 2, 3, 4, 4, 5, 6, 7, 8,
    ]);
  });
  it('measures great-circle distance (New York to Los Angeles about 2,450 miles)', () => {
    const miles = greatCircleMiles({ lat: 40.71, lon: -74.01 }, { lat: 34.05, lon: -118.24 });
    expect(miles).toBeGreaterThan(2400);
    expect(miles).toBeLessThan(2500);
  });
  it('zones ZIP pairs from their 3-digit areas', async () => {
    expect((await zoneBetween('62701', '62704')).zone).toBe(1);
    expect((await zoneBetween('62701', '60601')).zone).toBe(3); // Springfield–Chicago ≈ 185 mi
    expect((await zoneBetween('10001', '90001')).zone).toBe(8);
    expect(await zoneBetween('10001', '96910')).toMatchObject({ zone: 9, basis: 'territory' });
  });
  it('refuses a ZIP area it does not know, and military ZIPs, saying to import the chart', async () => {
    await expect(zoneBetween('62701', '00000')).rejects.toThrow(/no area 000.*vpm zones import/);
    await expect(zoneBetween('62701', '09001')).rejects.toThrow(/military mail/);
  });
  it('takes an imported official zone chart before the distance', async () => {
    const chart = zoneChart(
      parseZoneChart('origin,destination,zone\n627,600-609,5\n627,900-961,7*\n', 'chart.csv'),
    );
    expect(await zoneBetween('62701', '60601', chart)).toEqual({ zone: 5, basis: 'chart' });
    expect((await zoneBetween('62701', '10001', chart)).basis).toBe('distance');
  });
  it('refuses a zone chart with bad lines, naming each', () => {
    expect(() => parseZoneChart('origin,destination,zone\n62,600,5\n627,600,10\n', 'x')).toThrow(
      /2 bad line\(s\)[\s\S]*line 2: origin "62"[\s\S]*line 3: zone "10"/,
    );
  });
});

describe('prices', () => {
  const table = testRateTable();
  const twoPounds = { weightOz: 32 };

  it('the same 2 lb Priority Mail piece costs more to a far zone than a near one', async () => {
    const near = await comparePiece(table, {
      originZip: '10001',
      destinationZip: '10016',
      weightOz: 32,
    });
    const far = await comparePiece(table, {
      originZip: '10001',
      destinationZip: '90001',
      weightOz: 32,
    });
    const priority = (c: typeof near) =>
      c.offers.find((o) => o.mailClass === 'priority' && !o.packaging);
    expect(priority(near)?.zone).toBe(1);
    expect(priority(far)?.zone).toBe(8);
    expect(priority(far)!.postageCents).toBeGreaterThan(priority(near)!.postageCents);
  });

  it('lists every service cheapest first, with those that cannot take the piece and why', async () => {
    const c = await comparePiece(table, {
      originZip: '62701',
      destinationZip: '90001',
      weightOz: 32,
    });
    const cents = c.offers.map((o) => o.postageCents);
    expect(cents).toEqual([...cents].sort((a, b) => a - b));
    expect(c.offers.map((o) => o.mailClass)).toEqual(
      expect.arrayContaining(['media-mail', 'ground-advantage', 'priority', 'priority-express']),
    );
    expect(c.unavailable.map((u) => [u.mailClass, u.code])).toEqual([
      ['first-class', 'TOO_HEAVY'],
      ['first-class-flat', 'TOO_HEAVY'],
    ]);
  });

  it('bills the dimensional weight above one cubic foot (L×W×H/166, rounded up to the pound)', () => {
    // 12×12×12 = 1728 in³: not above one cubic foot, so the 2 lb weight is billed.
    expect(
      priceService(table, 'priority', { ...twoPounds, zone: 5, dimsIn: [12, 12, 12] })
        .billedWeightOz,
    ).toBe(32);
    // 20×15×10 = 3000 in³ / 166 = 18.07 → 19 lb.
    const big = priceService(table, 'priority', { ...twoPounds, zone: 5, dimsIn: [20, 15, 10] });
    expect(big.billedWeightOz).toBe(19 * 16);
    expect(big.postageCents).toBeGreaterThan(
      priceService(table, 'priority', { ...twoPounds, zone: 5 }).postageCents,
    );
    // Media Mail is not priced by size.
    expect(
      priceService(table, 'media-mail', { ...twoPounds, dimsIn: [20, 15, 10] }).billedWeightOz,
    ).toBe(32);
  });

  it('prices flat-rate packaging at one price whatever the zone', () => {
    const a = priceService(table, 'priority', {
      ...twoPounds,
      zone: 1,
      packaging: 'flat-rate-envelope',
    });
    const b = priceService(table, 'priority', {
      ...twoPounds,
      zone: 8,
      packaging: 'flat-rate-envelope',
    });
    expect(a.postageCents).toBe(1100);
    expect(b.postageCents).toBe(1100);
  });

  it('refuses a weight or size a service does not take, saying what to do', () => {
    const refusal = (f: () => unknown) => {
      try {
        f();
      } catch (error) {
        expect(error).toBeInstanceOf(RateError);
        return (error as RateError).code;
      }
      throw new Error('not refused');
    };
    expect(refusal(() => priceService(table, 'first-class', { weightOz: 4 }))).toBe('TOO_HEAVY');
    expect(refusal(() => priceService(table, 'priority', { weightOz: 71 * 16, zone: 2 }))).toBe(
      'TOO_HEAVY',
    );
    expect(refusal(() => priceService(table, 'priority', { weightOz: 0, zone: 2 }))).toBe(
      'BAD_WEIGHT',
    );
    expect(refusal(() => priceService(table, 'priority', { weightOz: Number.NaN, zone: 2 }))).toBe(
      'BAD_WEIGHT',
    );
    expect(
      refusal(() => priceService(table, 'first-class', { weightOz: 1, dimsIn: [12, 6, 0.25] })),
    ).toBe('TOO_LARGE');
    expect(
      refusal(() =>
        priceService(table, 'priority', { weightOz: 32, zone: 2, dimsIn: [60, 20, 10] }),
      ),
    ).toBe('TOO_LARGE');
    expect(refusal(() => priceService(table, 'priority', { weightOz: 32 }))).toBe('NO_ZONE');
    expect(
      refusal(() => priceService(table, 'priority', { weightOz: 32, packaging: 'box-9' })),
    ).toBe('NO_PACKAGING');
    expect(() => parseWeight('2kg')).toThrow(/write it like 8oz, 2lb/);
    expect(() => parseWeight('71lb')).toThrow(/at most 70 lb/);
    expect(() => parseDims('12x10')).toThrow(/like 12x10x6/);
    expect(parseWeight('1lb 4oz')).toBe(20);
    expect(parseWeight('2lb')).toBe(32);
  });

  it('the shipped table prices every service from Notice 123 (July 12, 2026), figures cross-checked', () => {
    const cents = (
      mailClass: Parameters<typeof priceService>[1],
      spec: Parameters<typeof priceService>[2],
    ) => priceService(SHIPPED_RATE_TABLE, mailClass, spec).postageCents;
    // Letters at the metered price, flats single-piece (a second source agrees: 78¢, $1.69, $2.56).
    expect(cents('first-class', { weightOz: 1 })).toBe(78);
    expect(cents('first-class', { weightOz: 3.5 })).toBe(165);
    expect(cents('first-class-flat', { weightOz: 1 })).toBe(169);
    expect(cents('first-class-flat', { weightOz: 4 })).toBe(256);
    expect(cents('first-class-flat', { weightOz: 13 })).toBe(524);
    // Ground Advantage: 4 oz $7.90 zone 1 … $9.45 zone 8, 2 lb zone 4 $13.00, 70 lb zone 9 $196.80
    // (each also read in another repository's copy of the same Notice, docs/rates.md).
    expect(cents('ground-advantage', { weightOz: 4, zone: 1 })).toBe(790);
    expect(cents('ground-advantage', { weightOz: 6, zone: 8 })).toBe(945);
    expect(cents('ground-advantage', { weightOz: 32, zone: 4 })).toBe(1300);
    expect(cents('ground-advantage', { weightOz: 1120, zone: 9 })).toBe(19680);
    expect(cents('priority', { weightOz: 16, zone: 1 })).toBe(1100);
    expect(cents('priority', { weightOz: 16, zone: 9 })).toBe(3425);
    expect(cents('priority', { weightOz: 20, packaging: 'medium-flat-rate-box' })).toBe(2480);
    expect(cents('priority', { weightOz: 20, packaging: 'padded-flat-rate-envelope' })).toBe(1400);
    expect(cents('priority-express', { weightOz: 8, zone: 1 })).toBe(3565);
    expect(cents('media-mail', { weightOz: 32 })).toBe(513);
    expect(cents('media-mail', { weightOz: 1120 })).toBe(5523);
    // The same 2 lb Priority Mail piece costs more far than near.
    expect(cents('priority', { weightOz: 32, zone: 8 })).toBeGreaterThan(
      cents('priority', { weightOz: 32, zone: 2 }),
    );
    // A copying slip would most likely break the table's shape: prices never fall as the weight
    // or (within zones 1–8) the zone rises, and every service names Notice 123 and its date.
    for (const service of SHIPPED_RATE_TABLE.services) {
      expect(service.source).toMatch(/Notice 123\), effective 2026-07-12/);
      expect(service.steps.length).toBeGreaterThan(0);
      service.steps.forEach((step, i) => {
        const previous = service.steps[i - 1];
        step.cents.forEach((c, z) => {
          if (previous)
            expect(c, `${service.mailClass} step ${i}`).toBeGreaterThanOrEqual(previous.cents[z]!);
          if (z > 0 && z < 8) expect(c).toBeGreaterThanOrEqual(step.cents[z - 1]!);
        });
      });
    }
    expect(SHIPPED_RATE_TABLE.effectiveDate).toBe('2026-07-12');
    expect(checkRateTable(SHIPPED_RATE_TABLE)).toBe(SHIPPED_RATE_TABLE);
  });
});

describe('checkRateTable()', () => {
  it('refuses a table with descending weights, missing zone prices or a false date, naming each', () => {
    const bad = testRateTable();
    bad.effectiveDate = '2025-02-30';
    const priority = bad.services.find((s) => s.mailClass === 'priority')!;
    priority.steps[1]!.maxWeightOz = 8;
    priority.steps[2]!.cents = [100];
    try {
      checkRateTable(bad);
      throw new Error('accepted');
    } catch (error) {
      expect(error).toBeInstanceOf(RateTableError);
      const text = (error as Error).message;
      expect(text).toMatch(/effectiveDate: 2025-02-30 is not a date/);
      expect(text).toMatch(/weights must ascend/);
      expect(text).toMatch(/9 price\(s\) expected/);
    }
  });
  it('refuses what is not a rate table at all', () => {
    expect(() => checkRateTable({ format: 'vpm-rates-1', services: [] })).toThrow(RateTableError);
    expect(() => checkRateTable({ ...testRateTable(), extra: 1 })).toThrow(RateTableError);
  });
});

describe('pinnedVendorCa()', () => {
  it('pins the first vendor CA a data center presents and refuses another one after', async () => {
    const home = await mkdtemp(join(tmpdir(), 'vpm-pin-'));
    expect(await pinnedVendorCa(home)).toBeUndefined();
    expect(await pinnedVendorCa(home, 'CA ONE')).toBe('CA ONE');
    expect(await readFile(join(home, 'vendor-ca.pem'), 'utf8')).toBe('CA ONE');
    expect(await pinnedVendorCa(home, 'CA ONE')).toBe('CA ONE');
    await expect(pinnedVendorCa(home, 'CA TWO')).rejects.toThrow(/not the one this client pinned/);
    expect(await pinnedVendorCa(home)).toBe('CA ONE');
  });
});
