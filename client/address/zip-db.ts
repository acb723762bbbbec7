/**
 * @module address/zip-db
 * The offline ZIP database: the `zipcodes` package (ZIP → preferred city, state, coordinates),
 * loaded on first use. US codes only; the 3-digit areas' centroids feed the zone calculation.
 */
import type * as Zipcodes from 'zipcodes';
import type { ZipRecord } from 'zipcodes';
import { cityKey } from '../../shared/address-style';

export type { ZipRecord };

interface Db {
  byZip: Map<string, ZipRecord>;
  /** City key "CITY|ST" → ZIPs, for suggestions. */
  byCity: Map<string, string[]>;
  /** 3-digit area → centroid and the states it covers. */
  areas: Map<string, { lat: number; lon: number; states: Set<string> }>;
}

let db: Db | undefined;

const cityIndexKey = (city: string, state: string) => `${cityKey(city)}|${state.toUpperCase()}`;

async function load(): Promise<Db> {
  if (db) return db;
  const { codes } = (await import('zipcodes')) as typeof Zipcodes;
  const byZip = new Map<string, ZipRecord>();
  const byCity = new Map<string, string[]>();
  const sums = new Map<string, { lat: number; lon: number; n: number; states: Set<string> }>();
  for (const record of Object.values(codes)) {
    if (record.country !== 'US' || !/^\d{5}$/.test(record.zip)) continue;
    byZip.set(record.zip, record);
    const key = cityIndexKey(record.city, record.state);
    const list = byCity.get(key);
    if (list) list.push(record.zip);
    else byCity.set(key, [record.zip]);
    const area = record.zip.slice(0, 3);
    const sum = sums.get(area) ?? { lat: 0, lon: 0, n: 0, states: new Set<string>() };
    sum.lat += record.latitude;
    sum.lon += record.longitude;
    sum.n++;
    sum.states.add(record.state);
    sums.set(area, sum);
  }
  const areas = new Map<string, { lat: number; lon: number; states: Set<string> }>();
  for (const [area, s] of sums)
    areas.set(area, { lat: s.lat / s.n, lon: s.lon / s.n, states: s.states });
  db = { byZip, byCity, areas };
  return db;
}

/** The ZIP database, loaded once. */
export async function zipDb() {
  const d = await load();
  return {
    /** The record of a 5-digit ZIP (or the first five digits of a ZIP+4). */
    lookup: (zip: string): ZipRecord | undefined => d.byZip.get(zip.replace(/\D/g, '').slice(0, 5)),
    /** The ZIPs of a city in a state, in ascending order. */
    zipsOf: (city: string, state: string): string[] =>
      [...(d.byCity.get(cityIndexKey(city, state)) ?? [])].sort(),
    /** The centroid of a 3-digit ZIP area (mean of its ZIPs' coordinates), and its states. */
    area: (prefix: string) => d.areas.get(prefix),
  };
}

export type ZipDb = Awaited<ReturnType<typeof zipDb>>;
