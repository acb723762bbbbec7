/**
 * @module rates/rate-sync
 * The rate table the client prices from: the data center's (fetched over its pinned TLS,
 * checked against the vendor CA and cached), else the cached copy when the data center cannot
 * be reached (offline), else the table the product ships. A table whose signature fails is
 * refused loudly, never priced from.
 */
import type * as Api from '../../shared/api/schemas';
import type { RateTable } from '../../shared/rates/rate-table';
import { SHIPPED_RATE_TABLE } from '../../shared/rates/shipped-table';
import type { RateStore } from './rate-store';
import { pinnedVendorCa, RateSignatureError, verifySignedRateTable } from './rate-signature';

export interface RateSource {
  table: RateTable;
  from: 'data center' | 'cache' | 'shipped';
  /** Why the data center's table was not fetched now, if it was tried. */
  offline?: string;
}

/** How long a cached table is used before the data center is asked again. */
export const RATE_CACHE_MAX_AGE_MS = 60 * 60 * 1000;

/** Refuses a cache or a fetched table unless the pinned vendor CA vouches for it. */
export function verifierFor(home: string) {
  return async (signed: { table: RateTable; signature: string; certificatePem: string }) => {
    const ca = await pinnedVendorCa(home);
    if (!ca)
      throw new RateSignatureError('rate table: no vendor CA pinned yet to check it against');
    verifySignedRateTable(signed, ca);
  };
}

export async function rateSource(
  store: RateStore,
  fetchRates?: { serverUrl: string; fetch: () => Promise<Api.RatesResponse> },
  options: { maxAgeMs?: number; refresh?: boolean; now?: Date } = {},
): Promise<RateSource> {
  const now = options.now ?? new Date();
  const verify = verifierFor(store.home);
  const cached = await store.cached(verify).catch(() => undefined);
  const fresh =
    cached &&
    cached.serverUrl === fetchRates?.serverUrl &&
    now.getTime() - Date.parse(cached.fetchedAt) < (options.maxAgeMs ?? RATE_CACHE_MAX_AGE_MS);
  if (fetchRates && (options.refresh || !fresh)) {
    let served: Api.RatesResponse | undefined;
    let offline: string | undefined;
    try {
      served = await fetchRates.fetch();
    } catch (error) {
      offline = error instanceof Error ? error.message : String(error);
    }
    if (served) {
      const ca = await pinnedVendorCa(store.home, served.vendorCaPem);
      verifySignedRateTable(served, ca as string, now);
      const signed = {
        table: served.table,
        signature: served.signature,
        certificatePem: served.certificatePem,
      };
      await store.save(signed, fetchRates.serverUrl, now);
      return { table: served.table, from: 'data center' };
    }
    if (cached) return { table: cached.table, from: 'cache', ...(offline ? { offline } : {}) };
    return { table: SHIPPED_RATE_TABLE, from: 'shipped', ...(offline ? { offline } : {}) };
  }
  if (cached) return { table: cached.table, from: 'cache' };
  return { table: SHIPPED_RATE_TABLE, from: 'shipped' };
}
