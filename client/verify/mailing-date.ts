/**
 * @module verify/mailing-date
 * The verifier's date check: the mailing date printed in the indicium against the day of the
 * scan. Postage is dated for the day the piece enters the mail stream; a meter may date it a
 * little ahead (mail deposited after the last collection, a weekend), never weeks ahead, and an
 * indicium months old is a copy of used postage. So the date must lie in a window around the
 * scan day, not merely "any date" or "any future date".
 */

/** Days a mailing date may lie after the scan day (late collection, weekend, time zones). */
export const MAX_DAYS_AHEAD = 3;
/** Days a mailing date may lie before the scan day (mail in transit, a late scan). */
export const MAX_DAYS_OLD = 30;

const DAY_MS = 86_400_000;

/** Days since 1970-01-01 of a YYYY-MM-DD calendar date, or undefined when it is not one. */
function dayNumber(date: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date);
  if (!m) return undefined;
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const ms = Date.UTC(year, month - 1, day);
  const back = new Date(ms);
  if (
    back.getUTCFullYear() !== year ||
    back.getUTCMonth() !== month - 1 ||
    back.getUTCDate() !== day
  )
    return undefined;
  return ms / DAY_MS;
}

/** The scan day as the verifier's clock gives it, in its own time zone: YYYY-MM-DD. */
export function localDate(at: Date): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${at.getFullYear()}-${pad(at.getMonth() + 1)}-${pad(at.getDate())}`;
}

/** Null when the mailing date is within the window around the scan day, else what is wrong. */
export function mailingDateProblem(mailingDate: string, scanDate: string): string | null {
  const mailed = dayNumber(mailingDate);
  const scanned = dayNumber(scanDate);
  if (mailed === undefined) return `mailing date ${mailingDate} is not a calendar date`;
  if (scanned === undefined) return `scan date ${scanDate} is not a calendar date`;
  const ahead = mailed - scanned;
  if (ahead > MAX_DAYS_AHEAD)
    return `mailed ${mailingDate}, ${ahead} days after the scan date ${scanDate}; postage may be dated at most ${MAX_DAYS_AHEAD} days ahead`;
  if (-ahead > MAX_DAYS_OLD)
    return `mailed ${mailingDate}, ${-ahead} days before the scan date ${scanDate}; postage older than ${MAX_DAYS_OLD} days is not accepted`;
  return null;
}
