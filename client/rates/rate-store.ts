/**
 * @module rates/rate-store
 * The client's rate table and zone chart, kept in its config directory: `rates.json` is the last
 * signed table the data center served (checked again on every load, so an edited cache is
 * refused, not priced from), `zone-chart.json` the imported official zone chart. Without a cached
 * table the client prices from the table it ships (shared/rates/shipped-table.ts).
 */
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { checkRateTable, type RateTable } from '../../shared/rates/rate-table';
import { SHIPPED_RATE_TABLE } from '../../shared/rates/shipped-table';
import { writePrivate } from '../services/config';
import { zoneChart, type ZoneChart, type ZoneChartData } from './zone-chart';

/** A table as served: the table, and the transaction box's signature with its certificate. */
export interface SignedRateTable {
  table: RateTable;
  /** base64 ECDSA P-256 (r || s) over the transaction record "rate-table" (see rate-signature.ts). */
  signature: string;
  /** The transaction box's certificate, issued by the vendor CA. */
  certificatePem: string;
}

export interface CachedRates extends SignedRateTable {
  fetchedAt: string;
  serverUrl: string;
}

/** Verifies a served table; throws when it is not the vendor's. Supplied by rate-signature.ts. */
export type RateVerifier = (signed: SignedRateTable) => Promise<void>;

export class RateStore {
  constructor(readonly home: string) {}

  private get cacheFile() {
    return join(this.home, 'rates.json');
  }
  private get chartFile() {
    return join(this.home, 'zone-chart.json');
  }

  /** The cached table, verified again; undefined when there is none. A bad cache throws. */
  async cached(verify: RateVerifier): Promise<CachedRates | undefined> {
    const text = await readFile(this.cacheFile, 'utf8').catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return undefined;
    let cached: CachedRates;
    try {
      cached = JSON.parse(text) as CachedRates;
      checkRateTable(cached.table);
      await verify(cached);
    } catch (error) {
      throw Object.assign(
        new Error(
          `${this.cacheFile}: the cached rate table is not valid (${(error as Error).message.split('\n')[0]}); it is not used: delete it and fetch the rates again (vpm rates --refresh)`,
        ),
        { code: 'BAD_RATE_CACHE' },
      );
    }
    return cached;
  }

  async save(signed: SignedRateTable, serverUrl: string, now = new Date()): Promise<void> {
    const cached: CachedRates = { ...signed, fetchedAt: now.toISOString(), serverUrl };
    await mkdir(this.home, { recursive: true, mode: 0o700 });
    await writePrivate(this.cacheFile, `${JSON.stringify(cached)}\n`);
  }

  /** The table to price from: the cached one (verified), else the shipped one. */
  async table(verify: RateVerifier): Promise<{ table: RateTable; from: 'cache' | 'shipped' }> {
    const cached = await this.cached(verify);
    return cached
      ? { table: cached.table, from: 'cache' }
      : { table: SHIPPED_RATE_TABLE, from: 'shipped' };
  }

  async zoneChart(): Promise<ZoneChart | undefined> {
    const text = await readFile(this.chartFile, 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const data = JSON.parse(text) as ZoneChartData;
    if (data.format !== 'vpm-zone-chart-1')
      throw new Error(
        `${this.chartFile}: not a zone chart; import it again (vpm zones import FILE)`,
      );
    return zoneChart(data);
  }

  async saveZoneChart(data: ZoneChartData): Promise<void> {
    await mkdir(this.home, { recursive: true, mode: 0o700 });
    await writePrivate(this.chartFile, `${JSON.stringify(data)}\n`);
  }
}
