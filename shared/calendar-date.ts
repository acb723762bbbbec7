/**
 * @module calendar-date
 * A mailing date as the product writes it: YYYY-MM-DD naming a day that exists (2026-02-30 does
 * not). The API schemas check it at the edge, so a date like that is a 400, never a 500.
 */

export const DATE_PATTERN = '^\\d{4}-\\d{2}-\\d{2}$';

/** True for YYYY-MM-DD naming a real day of the Gregorian calendar (years 1–9999). */
export function isCalendarDate(text: string): boolean {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return false;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  if (y < 1) return false;
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d); // not Date.UTC: it maps years 0–99 to 1900–1999
  return date.getUTCFullYear() === y && date.getUTCMonth() === mo - 1 && date.getUTCDate() === d;
}
