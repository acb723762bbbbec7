/**
 * @module rates/shipped-table
 * The rate table the product ships, which the data center serves until an operator imports
 * another (`vpm datacenter rates import`). No price in it is invented: it carries the USPS retail
 * First-Class Mail prices of Notice 123 effective 2025-07-13 (letters 78¢ for the first ounce and
 * 29¢ each further ounce to 3 oz, $1.65 at 3.5 oz; large envelopes $1.63 and 27¢ each further
 * ounce to 13 oz). For the zone-priced services (Priority Mail Express, Priority Mail, USPS
 * Ground Advantage, Media Mail) it ships the structure — limits, dimensional rule, zones — and
 * no prices, because the product cannot cite those figures here: each service's `source` says
 * so, and pricing it answers NOT_PRICED until the operator imports the Notice 123 table (see
 * docs/rates.md). Limits: DMM 101 (letters at most 11-1/2 × 6-1/8 × 1/4 in and 3.5 oz; flats at
 * most 15 × 12 × 3/4 in and 13 oz; parcels 70 lb, 108 in length plus girth, 130 in for USPS
 * Ground Advantage); dimensional weight above one cubic foot at L×W×H/166.
 */
import { RATE_TABLE_FORMAT, type RateTable } from './rate-table';

const NOTICE_123 = 'USPS Price List (Notice 123), retail First-Class Mail, effective 2025-07-13';
const NOT_SHIPPED =
  'no prices shipped: the USPS Notice 123 retail prices for this service are not cited in this product; the data center operator imports them (vpm datacenter rates import)';

/** Steps of one ounce from 1 oz: first ounce `first`, each further ounce `extra`. */
const ounces = (first: number, extra: number, maxOz: number) =>
  Array.from({ length: maxOz }, (_, i) => ({ maxWeightOz: i + 1, cents: [first + extra * i] }));

const PARCEL_DIM = { divisor: 166, minCubicInches: 1728 };

export const SHIPPED_RATE_TABLE: RateTable = {
  format: RATE_TABLE_FORMAT,
  version: '2025-07-13.1',
  effectiveDate: '2025-07-13',
  source: `${NOTICE_123} (letters and large envelopes). Zone-priced services: structure only, ${NOT_SHIPPED}.`,
  services: [
    {
      mailClass: 'first-class',
      source: NOTICE_123,
      zoned: false,
      steps: [...ounces(78, 29, 3), { maxWeightOz: 3.5, cents: [165] }],
      maxWeightOz: 3.5,
      maxSizeIn: [11.5, 6.125, 0.25],
    },
    {
      mailClass: 'first-class-flat',
      source: NOTICE_123,
      zoned: false,
      steps: ounces(163, 27, 13),
      maxWeightOz: 13,
      maxSizeIn: [15, 12, 0.75],
    },
    {
      mailClass: 'ground-advantage',
      source: NOT_SHIPPED,
      zoned: true,
      steps: [],
      maxWeightOz: 1120,
      maxLengthPlusGirthIn: 130,
      dimensional: PARCEL_DIM,
    },
    {
      mailClass: 'priority',
      source: NOT_SHIPPED,
      zoned: true,
      steps: [],
      maxWeightOz: 1120,
      maxLengthPlusGirthIn: 108,
      dimensional: PARCEL_DIM,
    },
    {
      mailClass: 'priority-express',
      source: NOT_SHIPPED,
      zoned: true,
      steps: [],
      maxWeightOz: 1120,
      maxLengthPlusGirthIn: 108,
      dimensional: PARCEL_DIM,
    },
    {
      mailClass: 'media-mail',
      source: NOT_SHIPPED,
      zoned: false,
      steps: [],
      maxWeightOz: 1120,
      maxLengthPlusGirthIn: 108,
    },
  ],
};
