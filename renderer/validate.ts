/**
 * @module renderer/validate
 * Field checks the forms run before calling the app, with the same patterns as the IPC schemas
 * (shared/domain.ts, shared/zip.ts), and messages that say how to fix the value.
 */
import { addressTextProblem } from '../shared/address-text';
import {
  CARD_NUMBER_PATTERN,
  normalizeUsername,
  USERNAME_PATTERN,
  US_STATE_PATTERN,
} from '../shared/domain';
import { parseDollars } from '../shared/money';
import { ZIP5_PATTERN, ZIP_DEST_PATTERN } from '../shared/zip';

export type Errors = Record<string, string>;

/** USPS two-letter codes: states, DC, territories and military. */
const US_STATES = new Set(
  (
    'AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD MA MI MN MS MO MT NE NV NH NJ NM ' +
    'NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY DC AS GU MP PR VI UM FM MH PW AA AE AP'
  ).split(' '),
);

/** Checks a user name as normalizeUsername leaves it (trimmed, lowercase). */
export function checkUsername(value: string): string | null {
  return new RegExp(USERNAME_PATTERN).test(normalizeUsername(value))
    ? null
    : 'Use 3 to 64 letters, digits, dots, dashes or underscores, starting with a letter or digit.';
}

export function checkNewPassword(value: string): string | null {
  return value.length >= 10 ? null : 'Use at least 10 characters.';
}

export function checkOriginZip(value: string): string | null {
  return new RegExp(ZIP5_PATTERN).test(value.trim())
    ? null
    : 'Enter the 5-digit ZIP you mail from.';
}

export function checkDestZip(value: string): string | null {
  return new RegExp(ZIP_DEST_PATTERN).test(value.trim())
    ? null
    : 'Enter 5 digits (12345) or ZIP+4 (12345-6789).';
}

export function checkState(value: string): string | null {
  const v = value.trim().toUpperCase();
  return new RegExp(US_STATE_PATTERN).test(v) && US_STATES.has(v)
    ? null
    : 'Enter the two-letter state code, like NY.';
}

export function checkRequired(value: string, what: string): string | null {
  return value.trim() === '' ? `Enter the ${what}.` : null;
}

/**
 * An address line: filled in when required, and only characters the label font prints (no
 * control or text-direction characters), the same check the services make before charging.
 */
export function checkAddressLine(value: string, what: string, required = true): string | null {
  return (required ? checkRequired(value, what) : null) ?? addressTextProblem(value, what);
}

/** Card number with spaces or dashes removed, or null if it is not 12–19 digits. */
export function cleanCardNumber(value: string): string | null {
  const digits = value.replace(/[\s-]/g, '');
  return new RegExp(CARD_NUMBER_PATTERN).test(digits) ? digits : null;
}

/** Parses dollars into cents, or gives the message to show. */
export function parseMoney(
  value: string,
  options: { min?: number } = {},
): { cents: number; error: null } | { cents: null; error: string } {
  try {
    const cents = parseDollars(value);
    const min = options.min ?? 0;
    if (cents < min) {
      return { cents: null, error: `Enter at least $${(min / 100).toFixed(2)}.` };
    }
    return { cents, error: null };
  } catch {
    return { cents: null, error: 'Enter dollars and cents, like 12.34.' };
  }
}

/** Parses a weight in ounces (e.g. "3.5"), or gives the message to show. */
export function parseWeight(
  value: string,
): { oz: number; error: null } | { oz: null; error: string } {
  const v = value.trim();
  if (!/^\d{1,4}(\.\d{1,2})?$/.test(v) || Number(v) <= 0 || Number(v) > 1120) {
    return { oz: null, error: 'Enter the weight in ounces, like 3.5 (up to 1120).' };
  }
  return { oz: Number(v), error: null };
}

/** Only the entries with a message. */
export function compact(errors: Record<string, string | null>): Errors {
  const out: Errors = {};
  for (const [k, v] of Object.entries(errors)) if (v !== null) out[k] = v;
  return out;
}
