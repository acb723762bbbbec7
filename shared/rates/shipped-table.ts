/**
 * @module rates/shipped-table
 * The rate table the product ships, which the data center serves until an operator imports
 * another (`vpm datacenter rates import`). No price in it is invented: every figure is a USPS
 * retail price from the Price List (Notice 123) effective July 12, 2026, copied in
 * ./notice123-2026-07-12.ts with where it was read and how it was checked (docs/rates.md).
 * First-Class Mail letters are the metered prices (what a postage meter's indicium pays), large
 * envelopes the single-piece prices; Priority Mail Express, Priority Mail and USPS Ground
 * Advantage are the retail zone prices (zones 1–9) and flat-rate packaging, Media Mail the retail
 * single-piece prices. Temporary seasonal price changes USPS publishes separately are not in it.
 * Limits: DMM 101 (letters at most 11-1/2 × 6-1/8 × 1/4 in and 3.5 oz; flats at most
 * 15 × 12 × 3/4 in and 13 oz; parcels 70 lb, 108 in length plus girth, 130 in for USPS Ground
 * Advantage); dimensional weight above one cubic foot at L×W×H/166.
 */
import {
  EFFECTIVE_DATE,
  FIRST_CLASS_FLATS,
  FIRST_CLASS_LETTERS_METERED,
  FLAT_RATE_RETAIL,
  GROUND_ADVANTAGE_RETAIL,
  MEDIA_MAIL_RETAIL,
  PRIORITY_MAIL_EXPRESS_RETAIL,
  PRIORITY_MAIL_RETAIL,
  type UnzonedRow,
  type ZonedRow,
} from './notice123-2026-07-12';
import { RATE_TABLE_FORMAT, type FlatRate, type RateStep, type RateTable } from './rate-table';

const NOTICE_123 = `USPS Price List (Notice 123), effective ${EFFECTIVE_DATE}, https://pe.usps.com/text/dmm300/Notice123.htm`;

const zoned = (rows: readonly ZonedRow[]): RateStep[] =>
  rows.map(([maxWeightOz, ...cents]) => ({ maxWeightOz, cents }));
const unzoned = (rows: readonly UnzonedRow[]): RateStep[] =>
  rows.map(([maxWeightOz, cents]) => ({ maxWeightOz, cents: [cents] }));
const flatRates = (service: keyof typeof FLAT_RATE_RETAIL, table: string): FlatRate[] =>
  FLAT_RATE_RETAIL[service].map(([packaging, label, cents]) => ({
    packaging,
    label,
    cents,
    source: `${NOTICE_123}: ${table}`,
  }));

const PARCEL_DIM = { divisor: 166, minCubicInches: 1728 };

export const SHIPPED_RATE_TABLE: RateTable = {
  format: RATE_TABLE_FORMAT,
  version: `${EFFECTIVE_DATE}.1`,
  effectiveDate: EFFECTIVE_DATE,
  source: `${NOTICE_123}; retail prices (First-Class Mail letters metered), no seasonal adjustment`,
  services: [
    {
      mailClass: 'first-class',
      source: `${NOTICE_123}: First-Class Mail, Letters (Metered)`,
      zoned: false,
      steps: unzoned(FIRST_CLASS_LETTERS_METERED),
      maxWeightOz: 3.5,
      maxSizeIn: [11.5, 6.125, 0.25],
    },
    {
      mailClass: 'first-class-flat',
      source: `${NOTICE_123}: First-Class Mail, Large Envelopes (Flats), single-piece`,
      zoned: false,
      steps: unzoned(FIRST_CLASS_FLATS),
      maxWeightOz: 13,
      maxSizeIn: [15, 12, 0.75],
    },
    {
      mailClass: 'ground-advantage',
      source: `${NOTICE_123}: USPS Ground Advantage — Retail, zones 1–9`,
      zoned: true,
      steps: zoned(GROUND_ADVANTAGE_RETAIL),
      maxWeightOz: 1120,
      maxLengthPlusGirthIn: 130,
      dimensional: PARCEL_DIM,
    },
    {
      mailClass: 'priority',
      source: `${NOTICE_123}: Priority Mail — Retail, zones 1–9`,
      zoned: true,
      steps: zoned(PRIORITY_MAIL_RETAIL),
      maxWeightOz: 1120,
      maxLengthPlusGirthIn: 108,
      dimensional: PARCEL_DIM,
      flatRate: flatRates('priority', 'Priority Mail Flat Rate — Retail'),
    },
    {
      mailClass: 'priority-express',
      source: `${NOTICE_123}: Priority Mail Express — Retail, zones 1–9`,
      zoned: true,
      steps: zoned(PRIORITY_MAIL_EXPRESS_RETAIL),
      maxWeightOz: 1120,
      maxLengthPlusGirthIn: 108,
      dimensional: PARCEL_DIM,
      flatRate: flatRates('priority-express', 'Priority Mail Express Flat Rate — Retail'),
    },
    {
      mailClass: 'media-mail',
      source: `${NOTICE_123}: Media Mail — Retail, single-piece`,
      zoned: false,
      steps: unzoned(MEDIA_MAIL_RETAIL),
      maxWeightOz: 1120,
      maxLengthPlusGirthIn: 108,
    },
  ],
};
