/**
 * @module atoms
 * The rules of the product's atoms as plain values (patterns, bounds, the media): what
 * shared/domain.ts builds the IPC and HTTP schemas from. Code that only needs a rule (the CLI,
 * the print driver) imports it from here, without loading TypeBox at start-up.
 */

/**
 * A user name as the data center stores it: lowercase letters, digits, `.`, `_`, `-`, starting
 * with a letter or digit, 3 to 64 characters. Forms and the CLI lower-case what is typed first.
 */
export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9._-]{2,63}$';

/** What a person types as a user name, in the form the data center stores (trimmed, lowercase). */
export function normalizeUsername(text: string): string {
  return text.trim().toLowerCase();
}
export const PASSWORD_MAX_LENGTH = 256;
/** A new password (sign-up): at least 10 characters. */
export const NEW_PASSWORD_MIN_LENGTH = 10;
/** Card numbers travel as 12–19 digits, spaces removed. */
export const CARD_NUMBER_PATTERN = '^[0-9]{12,19}$';
/** The smallest refill (and auto-refill) the data center takes: $1.00. */
export const MIN_REFILL_CENTS = 100;
export const US_STATE_PATTERN = '^[A-Z]{2}$';
/** The heaviest piece, in ounces (70 lb). */
export const MAX_WEIGHT_OZ = 1120;
/** The least weight a piece may have, in ounces (a scale's resolution is coarser). */
export const MIN_WEIGHT_OZ = 0.01;
/**
 * A client-chosen key that makes a retry return the same indicium (or refill) instead of
 * charging twice: 8 to 128 letters, digits, `.`, `_`, `:`, `-`.
 */
export const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9._:-]{8,128}$';
/** A piece id: the UUID the data center gave the piece. */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
/** The longest history search (piece id, destination ZIP or mail class) the data center takes. */
export const HISTORY_SEARCH_MAX_LENGTH = 64;
/** The last history page the data center serves (pages count from 1 there). */
export const HISTORY_MAX_PAGE = 100_000;

/**
 * Print media the print driver lays out exactly (client/print/media.ts holds the sizes;
 * envelopes are landscape). The indicium goes in the upper right with DMM 604.4.3.3's clear zone.
 */
export const MEDIA = {
  env10: { label: '#10 envelope (9½ × 4⅛ in)' },
  env9: { label: '#9 envelope (8⅞ × 3⅞ in)' },
  'env6-3-4': { label: '#6¾ envelope (6½ × 3⅝ in)' },
  env6x9: { label: '6 × 9 in envelope' },
  env9x12: { label: '9 × 12 in envelope' },
  c5: { label: 'C5 envelope (229 × 162 mm)' },
  dl: { label: 'DL envelope (220 × 110 mm)' },
  label4x6: { label: '4 × 6 in label (thermal roll)' },
  sheet2x4x6: { label: 'Letter sheet with two 4 × 6 in labels' },
} as const;
export type Media = keyof typeof MEDIA;
export const MEDIA_NAMES = Object.keys(MEDIA) as Media[];

export function isMedia(value: string): value is Media {
  return Object.hasOwn(MEDIA, value);
}

/** The largest calibration offset the print driver draws with, in millimetres either way. */
export const MAX_CALIBRATION_MM = 20;
