/**
 * @module rates/price
 * Prices a piece from a rate table (./rate-table.ts): by weight (ounces), zone and, where the
 * service prices it, size (dimensional weight above the table's cubic threshold: L×W×H / divisor,
 * rounded up to the pound) and flat-rate packaging. A weight or size the service does not take,
 * or a service the table carries no prices for, is a RateError that says what to do.
 */
import { MAIL_CLASSES, type MailClass } from '../mail-class';
import { formatDollars } from '../money';
import type { RateService, RateTable, Zone } from './rate-table';

export type RateErrorCode =
  | 'NO_RATE'
  | 'BAD_WEIGHT'
  | 'BAD_SIZE'
  | 'TOO_HEAVY'
  | 'TOO_LARGE'
  | 'NOT_PRICED'
  | 'NO_ZONE'
  | 'NO_PACKAGING';

export class RateError extends Error {
  constructor(
    readonly code: RateErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'RateError';
  }
}

export interface PieceSpec {
  weightOz: number;
  /** Needed by zoned services. */
  zone?: Zone;
  /** Length, width, height in inches (any order). */
  dimsIn?: readonly [number, number, number];
  /** A flat-rate packaging id (`flat-rate-envelope`); without it the piece is priced by weight. */
  packaging?: string;
}

export interface Offer {
  mailClass: MailClass;
  label: string;
  postageCents: number;
  /** The zone the price is for; null for unzoned prices and flat rates. */
  zone: Zone | null;
  /** The weight the price is for (the dimensional weight when that is larger). */
  billedWeightOz: number;
  /** The flat-rate packaging priced, if any. */
  packaging?: string;
  packagingLabel?: string;
}

const label = (c: MailClass) => MAIL_CLASSES[c].label;
const oz = (n: number) => (n >= 16 && n % 16 === 0 ? `${n / 16} lb` : `${n} oz`);

function checkSpec(spec: PieceSpec): void {
  if (!(Number.isFinite(spec.weightOz) && spec.weightOz > 0))
    throw new RateError(
      'BAD_WEIGHT',
      `weight ${spec.weightOz}: must be more than 0, e.g. 8oz or 2lb`,
    );
  if (spec.dimsIn && !spec.dimsIn.every((d) => Number.isFinite(d) && d > 0))
    throw new RateError(
      'BAD_SIZE',
      `size ${spec.dimsIn.join('x')}: every side must be more than 0 inches, e.g. 12x10x6`,
    );
}

/** The billed weight: the dimensional weight when the service uses it and it is larger. */
function billedWeight(service: RateService, spec: PieceSpec): number {
  const dims = spec.dimsIn;
  if (!dims || !service.dimensional) return spec.weightOz;
  const cubic = dims[0] * dims[1] * dims[2];
  if (cubic <= service.dimensional.minCubicInches) return spec.weightOz;
  const dimPounds = Math.ceil(cubic / service.dimensional.divisor);
  return Math.max(spec.weightOz, dimPounds * 16);
}

function checkSize(service: RateService, spec: PieceSpec): void {
  if (!spec.dimsIn) return;
  const [l, w, h] = [...spec.dimsIn].sort((a, b) => b - a) as [number, number, number];
  const name = label(service.mailClass);
  const max = service.maxSizeIn;
  const [ml, mw, mh] = (max ?? []) as number[];
  if (max && (l > (ml as number) || w > (mw as number) || h > (mh as number)))
    throw new RateError(
      'TOO_LARGE',
      `${name}: ${l}×${w}×${h} in is larger than its ${max.join('×')} in; choose a larger service`,
    );
  const girth = l + 2 * (w + h);
  if (service.maxLengthPlusGirthIn && girth > service.maxLengthPlusGirthIn)
    throw new RateError(
      'TOO_LARGE',
      `${name}: length plus girth ${girth} in is over its ${service.maxLengthPlusGirthIn} in`,
    );
}

function serviceOf(table: RateTable, mailClass: MailClass): RateService {
  const service = table.services.find((s) => s.mailClass === mailClass);
  if (!service)
    throw new RateError(
      'NO_RATE',
      `${label(mailClass)}: not in rate table ${table.version}; enter the postage amount`,
    );
  return service;
}

/** The price of a piece sent with one service; a RateError says why not. */
export function priceService(table: RateTable, mailClass: MailClass, spec: PieceSpec): Offer {
  checkSpec(spec);
  const service = serviceOf(table, mailClass);
  const name = label(mailClass);
  if (spec.weightOz > service.maxWeightOz)
    throw new RateError(
      'TOO_HEAVY',
      `${name}: ${oz(spec.weightOz)} is over its ${oz(service.maxWeightOz)} limit; choose another service`,
    );
  if (spec.packaging !== undefined) {
    const flat = service.flatRate?.find((f) => f.packaging === spec.packaging);
    if (!flat)
      throw new RateError(
        'NO_PACKAGING',
        `${name}: no flat-rate packaging "${spec.packaging}" in rate table ${table.version}${service.flatRate?.length ? `; it has ${service.flatRate.map((f) => f.packaging).join(', ')}` : ''}`,
      );
    return {
      mailClass,
      label: name,
      postageCents: flat.cents,
      zone: null,
      billedWeightOz: spec.weightOz,
      packaging: flat.packaging,
      packagingLabel: flat.label,
    };
  }
  checkSize(service, spec);
  if (service.steps.length === 0)
    throw new RateError(
      'NOT_PRICED',
      `${name}: rate table ${table.version} carries no prices for it (${service.source}); enter the postage amount, or have the data center import a table that prices it`,
    );
  const billed = billedWeight(service, spec);
  if (billed > service.maxWeightOz)
    throw new RateError(
      'TOO_LARGE',
      `${name}: its dimensional weight ${oz(billed)} is over its ${oz(service.maxWeightOz)} limit`,
    );
  const step = service.steps.find((s) => billed <= s.maxWeightOz);
  if (!step) {
    const top = service.steps.at(-1)?.maxWeightOz ?? 0;
    throw new RateError(
      'TOO_HEAVY',
      `${name}: ${oz(billed)} is over the heaviest price in rate table ${table.version} (${oz(top)}); choose another service or enter the amount`,
    );
  }
  let cents: number;
  let zone: Zone | null = null;
  if (service.zoned) {
    if (spec.zone === undefined)
      throw new RateError(
        'NO_ZONE',
        `${name}: priced by zone; give the origin and destination ZIP`,
      );
    zone = spec.zone;
    cents = step.cents[zone - 1] as number;
  } else cents = step.cents[0] as number;
  return { mailClass, label: name, postageCents: cents, zone, billedWeightOz: billed };
}

export interface Comparison {
  /** What the piece can be sent with, cheapest first (flat-rate packaging as their own lines). */
  offers: Offer[];
  /** The services it cannot be sent with, and why. */
  unavailable: Array<{ mailClass: MailClass; label: string; code: RateErrorCode; reason: string }>;
}

/** Every service of the table for this piece, cheapest first. */
export function compareRates(table: RateTable, spec: Omit<PieceSpec, 'packaging'>): Comparison {
  checkSpec(spec);
  const offers: Offer[] = [];
  const unavailable: Comparison['unavailable'] = [];
  for (const service of table.services) {
    try {
      offers.push(priceService(table, service.mailClass, spec));
    } catch (error) {
      if (!(error instanceof RateError)) throw error;
      unavailable.push({
        mailClass: service.mailClass,
        label: label(service.mailClass),
        code: error.code,
        reason: error.message,
      });
    }
    if (spec.weightOz <= service.maxWeightOz)
      for (const flat of service.flatRate ?? [])
        offers.push(priceService(table, service.mailClass, { ...spec, packaging: flat.packaging }));
  }
  offers.sort((a, b) => a.postageCents - b.postageCents || a.label.localeCompare(b.label));
  return { offers, unavailable };
}

/** "$9.85 Priority Mail (zone 5)" */
export function describeOffer(o: Offer): string {
  return `${formatDollars(o.postageCents)} ${o.label}${o.packagingLabel ? `, ${o.packagingLabel}` : ''}${o.zone ? ` (zone ${o.zone})` : ''}`;
}
