/**
 * @module domain
 * The product's atoms, defined once: the desktop app's IPC edge (shared/ipc) and the data
 * center's HTTP edge (shared/api) both build their requests from these, so a value one edge
 * accepts the other accepts too (test/shared/edges.property.test.ts attacks that claim). Each
 * atom is the rule the data center enforces: a user name is lowercase, a refill is at least
 * $1.00, an idempotency key is 8–128 characters; the calibration range is the print driver's.
 *
 * The rules (patterns, bounds, media) are plain values in shared/atoms.ts. Money is integer
 * cents (shared/money.ts); ZIPs follow shared/zip.ts; mail classes
 * shared/mail-class.ts.
 */
import { CloneType, Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  CARD_NUMBER_PATTERN,
  HISTORY_SEARCH_MAX_LENGTH,
  IDEMPOTENCY_KEY_PATTERN,
  MAX_CALIBRATION_MM,
  MAX_WEIGHT_OZ,
  MIN_WEIGHT_OZ,
  MEDIA_NAMES,
  MIN_REFILL_CENTS,
  NEW_PASSWORD_MIN_LENGTH,
  PASSWORD_MAX_LENGTH,
  USERNAME_PATTERN,
  UUID_PATTERN,
} from './atoms';
import { MAIL_CLASS_NAMES, type MailClass } from './mail-class';
import { MAX_CENTS, MAX_REGISTER_CENTS } from './money';
import { ZIP5_PATTERN, ZIP_DEST_PATTERN } from './zip';

/** The atom with a description for the API document (same constraints, a copy of the schema). */
export function described<T extends TSchema>(schema: T, description: string): T {
  return CloneType(schema, { description });
}

// ---------------------------------------------------------------------------------------------
// People and credentials

export const UsernameSchema = Type.String({
  pattern: USERNAME_PATTERN,
  description: 'lowercase letters, digits, . _ -; 3 to 64 characters',
});
export const NewPasswordSchema = Type.String({
  minLength: NEW_PASSWORD_MIN_LENGTH,
  maxLength: PASSWORD_MAX_LENGTH,
});
/** A password typed at sign-on (older accounts may have shorter ones: the server decides). */
export const PasswordSchema = Type.String({ minLength: 1, maxLength: PASSWORD_MAX_LENGTH });
/** The mailer's name as printed on the account. */
export const PersonNameSchema = Type.String({ minLength: 1, maxLength: 100 });
export const CardNumberSchema = Type.String({ pattern: CARD_NUMBER_PATTERN });

// ---------------------------------------------------------------------------------------------
// Money (integer cents)

/** Integer cents, 0 … MAX_CENTS: a balance, a threshold. */
export const CentsSchema = Type.Integer({ minimum: 0, maximum: MAX_CENTS });
/** The postage of one piece: at least one cent. */
export const PostageCentsSchema = Type.Integer({ minimum: 1, maximum: MAX_CENTS });
export const RefillCentsSchema = Type.Integer({ minimum: MIN_REFILL_CENTS, maximum: MAX_CENTS });
/** A lifetime total (ascending register, total credited): it only grows, so MAX_CENTS does not bound it. */
export const RegisterCentsSchema = Type.Integer({ minimum: 0, maximum: MAX_REGISTER_CENTS });

// ---------------------------------------------------------------------------------------------
// Pieces

export const Zip5Schema = Type.String({ pattern: ZIP5_PATTERN });
export const ZipDestSchema = Type.String({ pattern: ZIP_DEST_PATTERN });
export const MailClassSchema = Type.Union(MAIL_CLASS_NAMES.map((name) => Type.Literal(name)));
/**
 * Weight of a piece in ounces (fractions allowed), up to 70 lb. An inclusive minimum: OpenAPI
 * 3.0's `exclusiveMinimum` is a flag, JSON Schema's a number, so the HTTP edge could not say it.
 */
export const WeightOzSchema = Type.Number({ minimum: MIN_WEIGHT_OZ, maximum: MAX_WEIGHT_OZ });
export const IdempotencyKeySchema = Type.String({ pattern: IDEMPOTENCY_KEY_PATTERN });
export const PieceIdSchema = Type.String({ pattern: UUID_PATTERN });
export const PieceStatusSchema = Type.Union([Type.Literal('issued'), Type.Literal('refunded')]);
/** A history search (piece id, destination ZIP or mail class), as the data center takes it. */
export const HistorySearchSchema = Type.String({ maxLength: HISTORY_SEARCH_MAX_LENGTH });

// ---------------------------------------------------------------------------------------------
// Print media and calibration (the local print driver's; the HTTP edge has none)

export const MediaSchema = Type.Union(MEDIA_NAMES.map((name) => Type.Literal(name)));

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
// The rules themselves (patterns, bounds, media), for code that needs no schema.
export * from './atoms';
