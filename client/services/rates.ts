/**
 * @module services/rates
 * Unzoned prices (First-Class Mail letters and large envelopes) by class and weight, from a rate
 * table (shared/rates/); zone-priced services are quoted with the ZIPs (client/rates/compare.ts).
 * `RATE_TABLE` is the older flat view the app's `postage:rates` channel returns.
 */
import type { RateTable as FlatRateTable } from '../../shared/ipc';
import type { MailClass } from '../../shared/mail-class';
import { priceService, RateError } from '../../shared/rates/price';
import type { RateTable } from '../../shared/rates/rate-table';
import { SHIPPED_RATE_TABLE } from '../../shared/rates/shipped-table';

export { RateError };

/** The unzoned, priced services of a table, as class → weight brackets. */
export function flatView(table: RateTable): FlatRateTable {
  return {
    effectiveDate: table.effectiveDate,
    source: table.source,
    classes: table.services
      .filter((s) => !s.zoned && s.steps.length > 0)
      .map((s) => ({
        mailClass: s.mailClass,
        brackets: s.steps.map((step) => ({
          maxWeightOz: step.maxWeightOz,
          postageCents: step.cents[0] as number,
        })),
      })),
  };
}

export const RATE_TABLE: FlatRateTable = flatView(SHIPPED_RATE_TABLE);

/** The price of an unzoned piece; a RateError says why not (zoned, too heavy, not priced). */
export function quote(
  mailClass: MailClass,
  weightOz: number,
  table: RateTable = SHIPPED_RATE_TABLE,
): number {
  return priceService(table, mailClass, { weightOz }).postageCents;
}
