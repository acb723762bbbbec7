/**
 * @module address/zip-db
 * The offline ZIP database: ZIP → preferred city, state, coordinates, from the `zipcodes` package
 * through the table generated from it (./zip-table.ts, one line a ZIP in ascending order). The
 * table is read on first use and searched in place; the city index and the 3-digit areas'
 * centroids (for zones) are built the first time they are asked for. US codes only.
 */
import type { ZipRecord } from 'zipcodes';
import { cityKey } from '../../shared/address-style';

export type { ZipRecord };

interface Area {
  lat: number;
  lon: number;
  states: Set<string>;
}

interface Table {
  text: string;
  /** Where each line starts, and one past the end. */
  starts: Int32Array;
}

let table: Table | undefined;
let byCity: Map<string, string[]> | undefined;
let areas: Map<string, Area> | undefined;

const cityIndexKey = (city: string, state: string) => `${cityKey(city)}|${state.toUpperCase()}`;

async function load(): Promise<Table> {
  if (table) return table;
  const { ZIP_TABLE } = await import('./zip-table');
  const starts: number[] = [0];
  for (let at = ZIP_TABLE.indexOf('\n'); at >= 0; at = ZIP_TABLE.indexOf('\n', at + 1)) {
    starts.push(at + 1);
  }
  starts.push(ZIP_TABLE.length + 1);
  table = { text: ZIP_TABLE, starts: Int32Array.from(starts) };
  return table;
}

const count = (t: Table) => t.starts.length - 1;

function record(t: Table, i: number): ZipRecord {
  const [zip = '', city = '', state = '', lat = '', lon = ''] = t.text
    .slice(t.starts[i], (t.starts[i + 1] ?? 0) - 1)
    .split('\t');
  return { zip, city, state, latitude: Number(lat), longitude: Number(lon), country: 'US' };
}

/** Binary search on the lines' first five characters. */
function find(t: Table, zip: string): ZipRecord | undefined {
  let lo = 0;
  let hi = count(t) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const start = t.starts[mid] ?? 0;
    const key = t.text.slice(start, start + 5);
    if (key === zip) return record(t, mid);
    if (key < zip) lo = mid + 1;
    else hi = mid - 1;
  }
  return undefined;
}

function cityIndex(t: Table): Map<string, string[]> {
  if (byCity) return byCity;
  byCity = new Map();
  const { text, starts } = t;
  const keys = new Map<string, string>(); // a city's key, once per city name and state
  for (let i = 0; i < count(t); i++) {
    const start = starts[i] ?? 0; // "ZIP\tCITY\tST\t…": the city from start + 6 to the next tab
    const cityEnd = text.indexOf('\t', start + 6);
    const raw = text.slice(start + 6, cityEnd + 3);
    let key = keys.get(raw);
    if (key === undefined) {
      key = cityIndexKey(text.slice(start + 6, cityEnd), text.slice(cityEnd + 1, cityEnd + 3));
      keys.set(raw, key);
    }
    const zip = text.slice(start, start + 5);
    const list = byCity.get(key);
    if (list) list.push(zip);
    else byCity.set(key, [zip]);
  }
  return byCity;
}

function areaIndex(t: Table): Map<string, Area> {
  if (areas) return areas;
  const sums = new Map<string, { lat: number; lon: number; n: number; states: Set<string> }>();
  for (let i = 0; i < count(t); i++) {
    const r = record(t, i);
    const area = r.zip.slice(0, 3);
    const sum = sums.get(area) ?? { lat: 0, lon: 0, n: 0, states: new Set<string>() };
    sum.lat += r.latitude;
    sum.lon += r.longitude;
    sum.n++;
    sum.states.add(r.state);
    sums.set(area, sum);
  }
  areas = new Map();
  for (const [area, s] of sums)
    areas.set(area, { lat: s.lat / s.n, lon: s.lon / s.n, states: s.states });
  return areas;
}

/** The ZIP database, loaded once. */
export async function zipDb() {
  const t = await load();
  return {
    /** The record of a 5-digit ZIP (or the first five digits of a ZIP+4). */
    lookup: (zip: string): ZipRecord | undefined => find(t, zip.replace(/\D/g, '').slice(0, 5)),
    /** The ZIPs of a city in a state, in ascending order. */
    zipsOf: (city: string, state: string): string[] => [
      ...(cityIndex(t).get(cityIndexKey(city, state)) ?? []),
    ],
    /** The centroid of a 3-digit ZIP area (mean of its ZIPs' coordinates), and its states. */
    area: (prefix: string): Area | undefined => areaIndex(t).get(prefix),
  };
}

export type ZipDb = Awaited<ReturnType<typeof zipDb>>;
