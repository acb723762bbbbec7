/**
 * @module services/rates
 * Postage prices as versioned data: class × weight → price, with the date they took effect and
 * their source. Classes priced by zone (Priority Mail, Ground Advantage…) are not in the table:
 * the mailer enters the amount from the carrier's price list, which the product always allows.
 */
import type { RateTable } from '../../shared/ipc';
import type { MailClass } from '../../shared/mail-class';
import { MAIL_CLASSES } from '../../shared/mail-class';

const ounces = (first: number, extra: number, maxOz: number) =>
  Array.from({ length: maxOz }, (_, i) => ({
    maxWeightOz: i + 1,
    postageCents: first + extra * i,
  }));

/** USPS retail prices for letters and flats, effective 2025-07-13 (Notice 123). */
export const RATE_TABLE: RateTable = {
  effectiveDate: '2025-07-13',
  source: 'USPS Price List (Notice 123), retail First-Class Mail, effective 2025-07-13',
  classes: [
    {
      mailClass: 'first-class',
      brackets: [...ounces(78, 29, 3), { maxWeightOz: 3.5, postageCents: 165 }],
    },
    { mailClass: 'first-class-flat', brackets: ounces(163, 27, 13) },
  ],
};

export class RateError extends Error {
  readonly code = 'NO_RATE';
}

/** The price of a piece from the table; a RateError says to enter the amount instead. */
export function quote(
  mailClass: MailClass,
  weightOz: number,
  table: RateTable = RATE_TABLE,
): number {
  if (!(weightOz > 0)) throw new RateError(`weight ${weightOz} oz: must be more than 0`);
  const entry = table.classes.find((c) => c.mailClass === mailClass);
  if (!entry)
    throw new RateError(
      `${MAIL_CLASSES[mailClass].label}: priced by zone, not in the rate table; enter the postage amount`,
    );
  const bracket = entry.brackets.find((b) => weightOz <= b.maxWeightOz);
  if (!bracket) {
    const max = entry.brackets.at(-1)?.maxWeightOz ?? 0;
    throw new RateError(
      `${MAIL_CLASSES[mailClass].label}: ${weightOz} oz is over the ${max} oz limit; use another class or enter the amount`,
    );
  }
  return bracket.postageCents;
}
