/**
 * @module rates/compare
 * What `vpm rates` and the app's new-piece screen show: the zone between two ZIPs and every
 * service of the rate table for the piece, cheapest first.
 */
import type { RateTable, Zone } from '../../shared/rates/rate-table';
import { compareRates, priceService, type Comparison, type Offer } from '../../shared/rates/price';
import type { MailClass } from '../../shared/mail-class';
import { zoneBetween, type ZoneAnswer } from './zones';
import type { ZoneChart } from './zone-chart';

export interface PieceQuery {
  originZip: string;
  destinationZip: string;
  weightOz: number;
  dimsIn?: readonly [number, number, number];
}

export interface RateComparison extends Comparison {
  zone: ZoneAnswer;
  table: { version: string; effectiveDate: string; source: string };
}

export async function comparePiece(
  table: RateTable,
  query: PieceQuery,
  chart?: ZoneChart,
): Promise<RateComparison> {
  const zone = await zoneBetween(query.originZip, query.destinationZip, chart);
  const comparison = compareRates(table, {
    weightOz: query.weightOz,
    zone: zone.zone,
    ...(query.dimsIn ? { dimsIn: query.dimsIn } : {}),
  });
  return {
    ...comparison,
    zone,
    table: { version: table.version, effectiveDate: table.effectiveDate, source: table.source },
  };
}

/** The price of one service for a piece (zone from the ZIPs when the service is zoned). */
export async function quotePiece(
  table: RateTable,
  mailClass: MailClass,
  query: Partial<PieceQuery> & { weightOz: number; packaging?: string },
  chart?: ZoneChart,
): Promise<Offer> {
  const service = table.services.find((s) => s.mailClass === mailClass);
  let zone: Zone | undefined;
  if (service?.zoned && query.originZip && query.destinationZip && !query.packaging)
    zone = (await zoneBetween(query.originZip, query.destinationZip, chart)).zone;
  return priceService(table, mailClass, {
    weightOz: query.weightOz,
    ...(zone ? { zone } : {}),
    ...(query.dimsIn ? { dimsIn: query.dimsIn } : {}),
    ...(query.packaging ? { packaging: query.packaging } : {}),
  });
}
