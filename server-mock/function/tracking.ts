/**
 * @module function/tracking
 * The vendor's Mailer ID, under which the data center gives every piece it stores a tracking
 * number (USPS Publication 199): from the data center's configuration, checked at start. The
 * numbers themselves (the class's service type, a serial the database hands out once across
 * every node) are made in storage/tracking-numbers.ts.
 */
import { isMailerId } from '../../shared/tracking';

/**
 * The Mailer ID used when the data center is not given one: a 9-digit placeholder for
 * development and the offline demo. A vendor sets its own USPS-assigned MID (`--mailer-id`).
 */
export const DEFAULT_MAILER_ID = '900000000';

export function checkMailerId(mid: string): string {
  if (!isMailerId(mid))
    throw new Error(
      `mailer ID "${mid}": a USPS Mailer ID is 6 digits, or 9 digits starting with 9; use the one USPS assigned`,
    );
  return mid;
}
