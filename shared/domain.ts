/**
 * @module domain
 * The product's atoms, defined once: the desktop app's IPC edge (shared/ipc) and the data
 * center's HTTP edge (shared/api) both build their requests from these, so a value one edge
 * accepts the other accepts too (test/shared/edges.property.test.ts attacks that claim). Each
 * atom is the rule the data center enforces: a user name is lowercase, a refill is at least
 * $1.00, an idempotency key is 8–128 characters; the calibration range is the print driver's.
 *
 * Money is integer cents (shared/money.ts); ZIPs follow shared/zip.ts; mail classes
 * shared/mail-class.ts.
 */
import { CloneType, Type, type Static, type TSchema } from '@sinclair/typebox';
import { MAIL_CLASS_NAMES, type MailClass } from './mail-class';
import { MAX_CENTS, MAX_REGISTER_CENTS } from './money';
import { ZIP5_PATTERN, ZIP_DEST_PATTERN } from './zip';

/** The atom with a description for the API document (same constraints, a copy of the schema). */
export function described<T extends TSchema>(schema: T, description: string): T {
  return CloneType(schema, { description });
}

// ---------------------------------------------------------------------------------------------
// People and credentials

/**
 * A user name as the data center stores it: lowercase letters, digits, `.`, `_`, `-`, starting
 * with a letter or digit, 3 to 64 characters. Forms and the CLI lower-case what is typed first.
 */
export const USERNAME_PATTERN = '^[a-z0-9][a-z0-9._-]{2,63}$';
export const UsernameSchema = Type.String({
  pattern: USERNAME_PATTERN,
  description: 'lowercase letters, digits, . _ -; 3 to 64 characters',
});
/** What a person types as a user name, in the form the data center stores (trimmed, lowercase). */
export function normalizeUsername(text: string): string {
  return text.trim().toLowerCase();
}
export const PASSWORD_MAX_LENGTH = 256;
/** A new password (sign-up): at least 10 characters. */
export const NEW_PASSWORD_MIN_LENGTH = 10;
export const NewPasswordSchema = Type.String({
  minLength: NEW_PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
});
/** A password typed at sign-on (older accounts may have shorter ones: the server decides). */
export const PasswordSchema = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH });
/** The mailer's name as printed on the account. */
export const PersonNameSchema = Type.String({ minLength: 1, maxLength: 100 });
/** Card numbers travel as 12–19 digits, spaces removed. */
export const CARD_NUMBER_PATTERN = '^[0-9]{12,19}$';
export const CardNumberSchema = Type.String({ pattern: CARD_NUMBER_PATTERN });

// ---------------------------------------------------------------------------------------------
// Money (integer cents)

/** Integer cents, 0 … MAX_CENTS: a balance, a threshold. */
export const CentsSchema = Type.Integer({ minimum: 0, maximum: MAX_CENTS });
/** The postage of one piece: at least one cent. */
export const PostageCentsSchema = Type.Integer({ minimum: 1, maximum: MAX_CENTS });
/** The smallest refill (and auto-refill) the data center takes: $1.00. */
export const MIN_REFILL_CENTS = 100;
export const RefillCentsSchema = Type.Integer({ minimum: MIN_REFILL_CENTS, maximum: MAX_CENTS });
/** A lifetime total (ascending register, total credited): it only grows, so MAX_CENTS does not bound it. */
export const RegisterCentsSchema = Type.Integer({ minimum: 0, maximum: MAX_REGISTER_CENTS });

// ---------------------------------------------------------------------------------------------
// Pieces

export const Zip5Schema = Type.String({ pattern: ZIP5_PATTERN });
export const ZipDestSchema = Type.String({ pattern: ZIP_DEST_PATTERN });
export const US_STATE_PATTERN = '^[A-Z]{2}$';
export const MailClassSchema = Type.Union(MAIL_CLASS_NAMES.map((name) => Type.Literal(name)));
/** The heaviest piece, in ounces (70 lb). */
export const MAX_WEIGHT_OZ = 1120;
/** Weight of a piece in ounces (fractions allowed), up to 70 lb. */
export const WeightOzSchema = Type.Number({ exclusiveMinimum: 0, maximum: MAX_WEIGHT_OZ });
/**
 * A client-chosen key that makes a retry return the same indicium (or refill) instead of
 * charging twice: 8 to 128 letters, digits, `.`, `_`, `:`, `-`.
 */
export const IDEMPOTENCY_KEY_PATTERN = '^[A-Za-z0-9._:-]{8,128}$';
export const IdempotencyKeySchema = Type.String({ pattern: IDEMPOTENCY_KEY_PATTERN });
/** A piece id: the UUID the data center gave the piece. */
export const UUID_PATTERN = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';
export const PieceIdSchema = Type.String({ pattern: UUID_PATTERN });
export const PieceStatusSchema = Type.Union([Type.Literal('issued'), Type.Literal('refunded')]);
/** A history search (piece id, destination ZIP or mail class), as the data center takes it. */
export const HistorySearchSchema = Type.String({ maxLength: 64 });
/** The last history page the data center serves (pages count from 1 there). */
export const HISTORY_MAX_PAGE = 100_000;

// ---------------------------------------------------------------------------------------------
// Print media and calibration (the local print driver's; the HTTP edge has none)

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
export const MediaSchema = Type.Union(MEDIA_NAMES.map((name) => Type.Literal(name)));

export function isMedia(value: string): value is Media {
  return Object.hasOwn(MEDIA, value);
}

/** The largest calibration offset the print driver draws with, in millimetres either way. */
export const MAX_CALIBRATION_MM = 20;
export const CalibrationMmSchema = Type.Number({
  minimum: -MAX_CALIBRATION_MM,
  maximum: MAX_CALIBRATION_MM,
});
/** Print position correction for one printer, millimetres (+x right, +y down). */
export const CalibrationSchema = Type.Object(
  { xMm: CalibrationMmSchema, yMm: CalibrationMmSchema },
  { additionalProperties: false },
);
export type Calibration = Static<typeof CalibrationSchema>;

export type { MailClass };
