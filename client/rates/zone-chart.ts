/**
 * @module rates/zone-chart
 * The official USPS zone chart, imported by the mailer (`vpm zones import FILE`): once there, its
 * zone for a pair of 3-digit ZIP areas takes precedence over the distance calculation. The file is
 * CSV with the header `origin,destination,zone`; origin and destination are 3-digit ZIP areas or
 * ranges (`005-098`), zone 1–9 (a trailing `*`, `+` or `e` marker of the USPS chart is ignored).
 * Every line is checked before the chart replaces the one saved before; a bad line changes nothing.
 */
import { parse } from 'csv-parse/sync';
import type { Zone } from '../../shared/rates/rate-table';

export class ZoneChartError extends Error {
  readonly code = 'BAD_ZONE_CHART';
  constructor(message: string) {
    super(message);
    this.name = 'ZoneChartError';
  }
}

/** Saved form: origin area → [from, to, zone] ranges of destination areas. */
export interface ZoneChartData {
  format: 'vpm-zone-chart-1';
  importedAt: string;
  source: string;
  origins: Record<string, Array<[number, number, Zone]>>;
}

export interface ZoneChart {
  data: ZoneChartData;
  zone(origin3: string, destination3: string): Zone | undefined;
}

export function zoneChart(data: ZoneChartData): ZoneChart {
  return {
    data,
    zone(origin3, destination3) {
      const d = Number(destination3);
      return data.origins[origin3]?.find(([lo, hi]) => d >= lo && d <= hi)?.[2];
    },
  };
}

const range = (text: string): [number, number] | undefined => {
  const m = /^(\d{3})(?:\s*-+\s*(\d{3}))?$/.exec(text.trim());
  if (!m) return undefined;
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  return lo <= hi ? [lo, hi] : undefined;
};

/** Parses and checks a chart file; every bad line is reported, and nothing is returned then. */
export function parseZoneChart(text: string, source: string, now = new Date()): ZoneChartData {
  let records: string[][];
  try {
    records = parse(text, {
      skip_empty_lines: true,
      trim: true,
      bom: true,
      relax_column_count: true,
    }) as string[][];
  } catch (error) {
    throw new ZoneChartError(`zone chart: not a CSV file (${(error as Error).message})`);
  }
  const [header, ...rows] = records;
  const columns = (header ?? []).map((h) => h.toLowerCase());
  const [o, d, z] = ['origin', 'destination', 'zone'].map((c) => columns.indexOf(c));
  if (o === -1 || d === -1 || z === -1)
    throw new ZoneChartError(
      'zone chart: the first line must be the header origin,destination,zone',
    );
  if (rows.length === 0) throw new ZoneChartError('zone chart: no lines after the header');
  const errors: string[] = [];
  const origins: ZoneChartData['origins'] = {};
  rows.forEach((row, i) => {
    const line = i + 2;
    const origin = range(row[o as number] ?? '');
    const dest = range(row[d as number] ?? '');
    const zone = Number((row[z as number] ?? '').replace(/[*+e]$/i, ''));
    if (!origin)
      errors.push(
        `line ${line}: origin "${row[o as number] ?? ''}" is not a 3-digit ZIP area or range`,
      );
    if (!dest)
      errors.push(
        `line ${line}: destination "${row[d as number] ?? ''}" is not a 3-digit ZIP area or range`,
      );
    if (!Number.isInteger(zone) || zone < 1 || zone > 9)
      errors.push(`line ${line}: zone "${row[z as number] ?? ''}" is not 1 to 9`);
    if (!origin || !dest || !(zone >= 1 && zone <= 9)) return;
    for (let a = origin[0]; a <= origin[1]; a++) {
      const key = String(a).padStart(3, '0');
      (origins[key] ??= []).push([dest[0], dest[1], zone as Zone]);
    }
  });
  if (errors.length > 0)
    throw new ZoneChartError(
      `zone chart: ${errors.length} bad line(s), nothing imported:\n${errors
        .slice(0, 50)
        .map((e) => `  ${e}`)
        .join('\n')}`,
    );
  return { format: 'vpm-zone-chart-1', importedAt: now.toISOString(), source, origins };
}
