/**
 * @module money
 * Money as integer minor units (US cents). The meter's registers, postage and refills are all
 * `Cents`; floats never carry money. Parsing accepts what a mailer types ("12.34", "$0.73")
 * and refuses anything that is not a whole number of cents within the product's limit.
 */

/** Integer number of cents. */
export type Cents = number;

/**
 * The one ceiling for money the product holds or moves: $1,000,000.00. No balance (descending
 * register), refill, refund, postage or threshold may pass it; the data center refuses a credit
 * that would, and every schema (shared/domain.ts, which shared/api and shared/ipc build on) is built on it.
 */
export const MAX_CENTS: Cents = 100_000_000;

/**
 * The bound of the meter's lifetime totals (ascending register, total credited): they only grow,
 * so they are bounded by exact integer arithmetic, not by MAX_CENTS.
 */
export const MAX_REGISTER_CENTS: Cents = Number.MAX_SAFE_INTEGER;

export class MoneyError extends Error {
  readonly code = 'BAD_AMOUNT';
  constructor(message: string) {
    super(message);
    this.name = 'MoneyError';
  }
}

const AMOUNT = /^\$?(\d{1,7})(?:\.(\d{1,2}))?$/;

/** Parses a dollar amount such as "12.34", "12.3", "12" or "$0.73" into cents. */
export function parseDollars(text: string): Cents {
  const trimmed = text.trim().replace(/,/g, '');
  const match = AMOUNT.exec(trimmed);
  if (!match) {
    throw new MoneyError(
      `amount "${text}": not a dollar amount; write it like 12.34 (at most two decimals, no sign)`,
    );
  }
  const dollars = Number(match[1]);
  const cents = Number((match[2] ?? '').padEnd(2, '0'));
  return assertCents(dollars * 100 + cents);
}

/** Checks that a value is a whole, non-negative number of cents within MAX_CENTS. */
export function assertCents(value: number, what = 'amount'): Cents {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new MoneyError(`${what}: must be a whole number of cents, got ${String(value)}`);
  }
  if (value > MAX_CENTS) {
    throw new MoneyError(
      `${what}: ${formatDollars(value)} is more than the limit of ${formatDollars(MAX_CENTS)}`,
    );
  }
  return value;
}

/** Formats cents as "$12.34". */
export function formatDollars(cents: Cents): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  // Thousands grouped by hand: toLocaleString's first call starts ICU, some 50 ms of a CLI start.
  const dollars = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+$)/g, ',');
  return `${sign}$${dollars}.${String(abs % 100).padStart(2, '0')}`;
}

/** Formats cents as a plain decimal "12.34" (for CSV and inputs). */
export function formatDecimal(cents: Cents): string {
  const sign = cents < 0 ? '-' : '';
  const abs = Math.abs(cents);
  return `${sign}${Math.floor(abs / 100)}.${String(abs % 100).padStart(2, '0')}`;
}
