/**
 * @module ipc/schemas
 * The objects the desktop app's IPC map carries (an account as the app shows it, a recipient, a
 * rate table, the settings, a batch row), built from the atoms in shared/domain.ts that the
 * data center's HTTP edge (shared/api) uses too.
 */
import { Type, type Static } from '@sinclair/typebox';
import {
  CalibrationSchema,
  CentsSchema,
  MailClassSchema,
  MediaSchema,
  PieceIdSchema,
  PieceStatusSchema,
  RefillCentsSchema,
  RegisterCentsSchema,
  US_STATE_PATTERN,
  UsernameSchema,
  WeightOzSchema,
  Zip5Schema,
  ZipDestSchema,
} from '../domain';

export const strict = { additionalProperties: false } as const;

/** Printer queue name, or null to save a PDF only. */
export const PrinterSchema = Type.Union([
  Type.String({ minLength: 1, maxLength: 256 }),
  Type.Null(),
]);

/**
 * What the print goes out as: a PDF (any printer, or saved), or ZPL II for a Zebra-compatible
 * thermal printer (raw to its queue, or saved as a .zpl file); labels only.
 */
export const PrintFormatSchema = Type.Union([Type.Literal('pdf'), Type.Literal('zpl')]);

/** A thermal printer's resolution: ZPL needs it; a PDF label is then laid on its dot grid. */
export const PrinterDpiSchema = Type.Union([Type.Literal(203), Type.Literal(300)]);

/** The optional thermal-printer fields of a print request. */
export const ThermalFields = {
  format: Type.Optional(PrintFormatSchema),
  dpi: Type.Optional(PrinterDpiSchema),
};

export const AccountSchema = Type.Object(
  {
    username: UsernameSchema,
    name: Type.Union([Type.String(), Type.Null()]),
    originZip: Zip5Schema,
    /** Device ID: the meter serial. */
    meterSerial: Type.String(),
    /** Descending register: postage still available. */
    balanceCents: CentsSchema,
    /** Ascending register: postage used over the meter's life. */
    ascendingCents: RegisterCentsSchema,
    /** Warn (and auto-refill, if set) when the balance falls below this. */
    lowBalanceCents: CentsSchema,
    autoRefillCents: Type.Union([RefillCentsSchema, Type.Null()]),
    demo: Type.Boolean(),
  },
  strict,
);
export type Account = Static<typeof AccountSchema>;

export const RecipientSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 100 }),
    street: Type.String({ minLength: 1, maxLength: 100 }),
    street2: Type.Optional(Type.String({ maxLength: 100 })),
    city: Type.String({ minLength: 1, maxLength: 60 }),
    state: Type.String({ pattern: US_STATE_PATTERN }),
    zip: ZipDestSchema,
  },
  strict,
);
export type Recipient = Static<typeof RecipientSchema>;

/** A recipient being typed: anything goes (within length), for the live SAMPLE preview only. */
export const DraftRecipientSchema = Type.Object(
  {
    name: Type.String({ maxLength: 100 }),
    street: Type.String({ maxLength: 100 }),
    street2: Type.Optional(Type.String({ maxLength: 100 })),
    city: Type.String({ maxLength: 60 }),
    state: Type.String({ maxLength: 2 }),
    zip: Type.String({ maxLength: 10 }),
  },
  strict,
);
export type DraftRecipient = Static<typeof DraftRecipientSchema>;

export const RateTableSchema = Type.Object(
  {
    /** YYYY-MM-DD the prices took effect. */
    effectiveDate: Type.String(),
    /** Where the prices come from (e.g. "USPS Notice 123, 2025-07-13" or "demo table"). */
    source: Type.String(),
    classes: Type.Array(
      Type.Object(
        {
          mailClass: MailClassSchema,
          /** Ascending weight brackets: a piece up to `maxWeightOz` costs `postageCents`. */
          brackets: Type.Array(
            Type.Object({ maxWeightOz: WeightOzSchema, postageCents: CentsSchema }, strict),
          ),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type RateTable = Static<typeof RateTableSchema>;

export const HistoryItemSchema = Type.Object(
  {
    pieceId: PieceIdSchema,
    /** ISO 8601 timestamp. */
    createdAt: Type.String(),
    postageCents: CentsSchema,
    destinationZip: Type.String(),
    mailClass: MailClassSchema,
    status: PieceStatusSchema,
    refundable: Type.Boolean(),
    /** The USPS tracking number the data center assigned. */
    trackingNumber: Type.Optional(Type.String({ pattern: '^[0-9]{20,34}$' })),
  },
  strict,
);
export type HistoryItem = Static<typeof HistoryItemSchema>;

export const PrinterInfoSchema = Type.Object(
  { name: Type.String(), isDefault: Type.Boolean(), media: Type.Array(Type.String()) },
  strict,
);
export type PrinterInfo = Static<typeof PrinterInfoSchema>;

export const SettingsSchema = Type.Object(
  {
    /** The data center's HTTPS base URL. */
    serverUrl: Type.String({ pattern: '^https://[^\\s]+$', maxLength: 2048 }),
    /** PEM file of the data center's CA (pinned); null = the CA saved at enrolment. */
    caPath: Type.Union([Type.String({ minLength: 1, maxLength: 4096 }), Type.Null()]),
    /** Run the embedded data center on loopback with a demo account; indicia are samples. */
    demoMode: Type.Boolean(),
    defaultPrinter: PrinterSchema,
    defaultMedia: MediaSchema,
    /** Per printer name. */
    calibration: Type.Record(Type.String({ maxLength: 256 }), CalibrationSchema),
    /** Printed on every envelope and label; none when absent. */
    returnAddress: Type.Optional(RecipientSchema),
    /** Envelopes carry the Intelligent Mail barcode of the letter's tracking code. */
    imb: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type Settings = Static<typeof SettingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  serverUrl: 'https://localhost:8443',
  caPath: null,
  demoMode: true,
  defaultPrinter: null,
  defaultMedia: 'env10',
  calibration: {},
};

/**
 * Columns of a batch CSV (header row required; extra columns ignored). `postage` is in dollars
 * and optional when `weight_oz` is given (then it is quoted from the rate table).
 */
export const BATCH_CSV_COLUMNS = [
  'name',
  'street',
  'street2',
  'city',
  'state',
  'zip',
  'mail_class',
  'weight_oz',
  'postage',
  'accept_address',
] as const;

export const BatchRowSchema = Type.Object(
  {
    /** 1-based line number in the CSV file (the header is line 1). */
    line: Type.Integer({ minimum: 1 }),
    name: Type.String(),
    city: Type.String(),
    state: Type.String(),
    zip: Type.String(),
    mailClass: Type.Union([MailClassSchema, Type.Null()]),
    postageCents: Type.Union([CentsSchema, Type.Null()]),
  },
  strict,
);
export type BatchRow = Static<typeof BatchRowSchema>;

export const BatchProgressSchema = Type.Object(
  {
    batchId: Type.String(),
    done: Type.Integer({ minimum: 0 }),
    total: Type.Integer({ minimum: 0 }),
  },
  strict,
);
export type BatchProgress = Static<typeof BatchProgressSchema>;
