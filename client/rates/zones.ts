/**
 * @module rates/zones
 * USPS zones from the origin and destination ZIP. Zones are distance bands between 3-digit ZIP
 * areas: the great-circle distance between the areas' centroids (mean coordinates of each area's
 * ZIPs in the ZIP database), banded as zone 1 up to 50 miles, 2 up to 150, 3 up to 300, 4 up to
 * 600, 5 up to 1000, 6 up to 1400, 7 up to 1800, 8 beyond; 9 to or from a territory. The
 * official zone chart, once imported (./zone-chart.ts), takes precedence over the distance.
 */
import { MILITARY, TERRITORIES } from '../../shared/us-states';
import type { Zone } from '../../shared/rates/rate-table';
import { zipDb } from '../address/zip-db';
import type { ZoneChart } from './zone-chart';

export class ZoneError extends Error {
  readonly code = 'NO_ZONE';
  constructor(message: string) {
    super(message);
    this.name = 'ZoneError';
  }
}

/** Upper bounds of zones 1–7 in miles; farther is zone 8. */
export const ZONE_BANDS_MILES = [50, 150, 300, 600, 1000, 1400, 1800] as const;

const EARTH_RADIUS_MILES = 3958.8;

/** Great-circle distance in miles (haversine). */
export function greatCircleMiles(
  a: { lat: number; lon: number },
  b: { lat: number; lon: number },
): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h =
    Math.sin(dLat / 2) ** 2 +
    Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 2 * EARTH_RADIUS_MILES * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** The zone of a distance in miles. */
export function zoneOfMiles(miles: number): Zone {
  const i = ZONE_BANDS_MILES.findIndex((limit) => miles <= limit);
  return (i === -1 ? 8 : i + 1) as Zone;
}

export interface ZoneAnswer {
  zone: Zone;
  /** Where the zone came from. */
  basis: 'chart' | 'distance' | 'territory';
  /** Centroid distance between the 3-digit areas (distance and territory bases). */
  miles?: number;
}

const zip5 = (zip: string, what: string): string => {
  const digits = zip.replace(/[\s-]/g, '');
  if (!/^\d{5}(\d{4})?$/.test(digits))
    throw new ZoneError(`${what} ZIP "${zip}": write 5 digits (12345) or ZIP+4`);
  return digits.slice(0, 5);
};

/** The zone between two ZIPs: the imported chart if it has the pair, else the distance bands. */
export async function zoneBetween(
  originZip: string,
  destinationZip: string,
  chart?: ZoneChart,
): Promise<ZoneAnswer> {
  const from = zip5(originZip, 'origin');
  const to = zip5(destinationZip, 'destination');
  const charted = chart?.zone(from.slice(0, 3), to.slice(0, 3));
  if (charted !== undefined) return { zone: charted, basis: 'chart' };
  const db = await zipDb();
  const a = db.area(from.slice(0, 3));
  const b = db.area(to.slice(0, 3));
  for (const [zip, area, what] of [
    [from, a, 'origin'],
    [to, b, 'destination'],
  ] as const) {
    if (!area)
      throw new ZoneError(
        `${what} ZIP ${zip}: the ZIP database has no area ${zip.slice(0, 3)}, so its zone is unknown; check the ZIP, or import the official zone chart (vpm zones import FILE)`,
      );
    if ([...area.states].some((s) => MILITARY.has(s)))
      throw new ZoneError(
        `${what} ZIP ${zip}: military mail (APO/FPO/DPO) is zoned by the official zone chart, not by distance; import it (vpm zones import FILE)`,
      );
  }
  const miles = greatCircleMiles(a!, b!);
  const territory = (area: typeof a) => [...area!.states].some((s) => TERRITORIES.has(s));
  if (from.slice(0, 3) !== to.slice(0, 3) && (territory(a) || territory(b)))
    return { zone: 9, basis: 'territory', miles };
  return { zone: zoneOfMiles(miles), basis: 'distance', miles };
}
