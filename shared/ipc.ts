/**
 * @module ipc
 * The desktop app's one typed IPC map: channel → request schema → result schema (TypeBox, i.e.
 * JSON Schema). The renderer calls `window.vpm[channel](request)` and gets an `IpcResult`; the
 * Electron main process validates every request against the channel's schema, then calls the
 * client services (`ClientServices`, one async method per channel) that talk to the data center
 * (patent Fig. 1: the mailer's PC ↔ communication server 32). The same map drives the preload,
 * the main-process router and the end-to-end harness, so the three cannot drift apart.
 *
 * Money is integer cents everywhere; ZIPs follow shared/zip.ts; mail classes shared/mail-class.ts.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MAIL_CLASS_NAMES, type MailClass } from './mail-class';
import { MAX_CENTS, MAX_REGISTER_CENTS } from './money';
import { ZIP5_PATTERN, ZIP_DEST_PATTERN } from './zip';

// ---------------------------------------------------------------------------------------------
// Building blocks

const strict = { additionalProperties: false } as const;

/** Integer cents, 0 … MAX_CENTS. */
export const CentsSchema = Type.Integer({ minimum: 0, maximum: MAX_CENTS });
/** A positive amount of cents (a refill, a postage amount). */
export const PositiveCentsSchema = Type.Integer({ minimum: 1, maximum: MAX_CENTS });
/** A lifetime total (the ascending register): it only grows, so MAX_CENTS does not bound it. */
export const RegisterCentsSchema = Type.Integer({ minimum: 0, maximum: MAX_REGISTER_CENTS });
export const Zip5Schema = Type.String({ pattern: ZIP5_PATTERN });
export const ZipDestSchema = Type.String({ pattern: ZIP_DEST_PATTERN });
export const MailClassSchema = Type.Union(MAIL_CLASS_NAMES.map((name) => Type.Literal(name)));
/** Weight of a piece in ounces (fractions allowed), up to 70 lb. */
export const WeightOzSchema = Type.Number({ exclusiveMinimum: 0, maximum: 1120 });
/** A client-generated key that makes a retry return the same indicium instead of charging twice. */
export const IdempotencyKeySchema = Type.String({ pattern: '^[A-Za-z0-9_-]{16,128}$' });
/** Printer queue name, or null to save a PDF only. */
export const PrinterSchema = Type.Union([
  Type.String({ minLength: 1, maxLength: 256 }),
  Type.Null(),
]);

export const USERNAME_PATTERN = '^[A-Za-z0-9._@-]{3,64}$';
export const US_STATE_PATTERN = '^[A-Z]{2}$';
/** Card numbers travel as 12–19 digits, spaces removed. */
export const CARD_NUMBER_PATTERN = '^[0-9]{12,19}$';

/**
 * Print media the print driver lays out exactly (client/print/media.ts holds the sizes; envelopes are landscape).
 * The indicium goes in the upper right with DMM 604.4.3.3's clear zone.
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

const Empty = Type.Object({}, strict);

export const AccountSchema = Type.Object(
  {
    username: Type.String(),
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
    autoRefillCents: Type.Union([PositiveCentsSchema, Type.Null()]),
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

export const PieceStatusSchema = Type.Union([Type.Literal('issued'), Type.Literal('refunded')]);

export const HistoryItemSchema = Type.Object(
  {
    pieceId: Type.String(),
    /** ISO 8601 timestamp. */
    createdAt: Type.String(),
    postageCents: CentsSchema,
    destinationZip: Type.String(),
    mailClass: MailClassSchema,
    status: PieceStatusSchema,
    refundable: Type.Boolean(),
  },
  strict,
);
export type HistoryItem = Static<typeof HistoryItemSchema>;

export const PrinterInfoSchema = Type.Object(
  { name: Type.String(), isDefault: Type.Boolean(), media: Type.Array(Type.String()) },
  strict,
);
export type PrinterInfo = Static<typeof PrinterInfoSchema>;

/** The largest calibration offset the print driver draws with, in millimetres either way. */
export const MAX_CALIBRATION_MM = 20;

/** Print position correction for one printer, millimetres (+x right, +y down). */
export const CalibrationSchema = Type.Object(
  {
    xMm: Type.Number({ minimum: -MAX_CALIBRATION_MM, maximum: MAX_CALIBRATION_MM }),
    yMm: Type.Number({ minimum: -MAX_CALIBRATION_MM, maximum: MAX_CALIBRATION_MM }),
  },
  strict,
);
export type Calibration = Static<typeof CalibrationSchema>;

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

const BatchIdSchema = Type.String({ pattern: '^[A-Za-z0-9_-]{8,128}$' });
const CsvSchema = Type.String({ minLength: 1, maxLength: 20_000_000 });

// ---------------------------------------------------------------------------------------------
// The map

/** Every channel: its request and its result. Requests refuse unknown properties. */
export const IPC = {
  'auth:signUp': {
    request: Type.Object(
      {
        username: Type.String({ pattern: USERNAME_PATTERN }),
        password: Type.String({ minLength: 10, maxLength: 256 }),
        originZip: Zip5Schema,
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
      },
      strict,
    ),
    result: AccountSchema,
  },
  'auth:signIn': {
    request: Type.Object(
      {
        username: Type.String({ pattern: USERNAME_PATTERN }),
        password: Type.String({ minLength: 1, maxLength: 256 }),
        /** Save the credentials in the OS keychain. */
        remember: Type.Boolean(),
      },
      strict,
    ),
    result: AccountSchema,
  },
  /** Signs in with the keychain's credentials; null when none are saved. */
  'auth:signInRemembered': { request: Empty, result: Type.Union([AccountSchema, Type.Null()]) },
  /** Ends the session and forgets the keychain credentials. */
  'auth:signOut': { request: Empty, result: Type.Null() },

  'account:get': { request: Empty, result: AccountSchema },
  'account:refill': {
    request: Type.Object(
      {
        amountCents: PositiveCentsSchema,
        cardNumber: Type.String({ pattern: CARD_NUMBER_PATTERN }),
      },
      strict,
    ),
    result: AccountSchema,
  },
  'account:setLowBalance': {
    request: Type.Object(
      {
        thresholdCents: CentsSchema,
        autoRefillCents: Type.Union([PositiveCentsSchema, Type.Null()]),
      },
      strict,
    ),
    result: AccountSchema,
  },

  'postage:rates': { request: Empty, result: RateTableSchema },
  'postage:quote': {
    request: Type.Object({ mailClass: MailClassSchema, weightOz: WeightOzSchema }, strict),
    result: Type.Object({ postageCents: CentsSchema }, strict),
  },

  /** Lays out the piece with a SAMPLE indicium, charging nothing. */
  'piece:preview': {
    request: Type.Object(
      {
        recipient: DraftRecipientSchema,
        postageCents: CentsSchema,
        mailClass: MailClassSchema,
        media: MediaSchema,
      },
      strict,
    ),
    /** An SVG document; the renderer shows it as an <img>, so it never runs script. */
    result: Type.Object({ svg: Type.String() }, strict),
  },
  /** Buys an indicium from the data center and prints it (or only saves the PDF). */
  'piece:print': {
    request: Type.Object(
      {
        recipient: RecipientSchema,
        postageCents: PositiveCentsSchema,
        mailClass: MailClassSchema,
        weightOz: Type.Optional(WeightOzSchema),
        media: MediaSchema,
        printer: PrinterSchema,
        idempotencyKey: IdempotencyKeySchema,
      },
      strict,
    ),
    result: Type.Object(
      {
        pieceId: Type.String(),
        pdfPath: Type.String(),
        jobId: Type.Union([Type.String(), Type.Null()]),
        balanceCents: CentsSchema,
      },
      strict,
    ),
  },

  /** Parses and checks a CSV without charging: rows, per-line errors, and the total postage. */
  'batch:validate': {
    request: Type.Object({ csv: CsvSchema }, strict),
    result: Type.Object(
      {
        rows: Type.Integer({ minimum: 0 }),
        errors: Type.Array(
          Type.Object({ line: Type.Integer({ minimum: 1 }), message: Type.String() }, strict),
        ),
        totalCents: CentsSchema,
        /** The parsed rows (all of them, or the first 1,000), for the table. */
        items: Type.Array(BatchRowSchema),
      },
      strict,
    ),
  },
  /**
   * Runs a batch: one indicium per valid row, one print-ready PDF. Progress is sent on
   * `batch:progress`, tagged with `batchId`. A batch is known by its rows' content: running the
   * same list after a failure resumes it (each row keeps its idempotency key), so nothing is
   * charged twice; a list printed in full before is refused with BATCH_ALREADY_PRINTED unless
   * `again` says the mailer confirmed "print again" (every row is then charged again).
   */
  'batch:run': {
    request: Type.Object(
      {
        csv: CsvSchema,
        media: MediaSchema,
        printer: PrinterSchema,
        batchId: BatchIdSchema,
        again: Type.Optional(Type.Boolean()),
      },
      strict,
    ),
    result: Type.Object(
      {
        pieces: Type.Integer({ minimum: 0 }),
        pdfPath: Type.String(),
        jobId: Type.Union([Type.String(), Type.Null()]),
        balanceCents: CentsSchema,
      },
      strict,
    ),
  },

  'history:list': {
    request: Type.Object(
      {
        /** Matches piece id, destination ZIP or mail class. */
        query: Type.Optional(Type.String({ maxLength: 100 })),
        page: Type.Integer({ minimum: 0 }),
        pageSize: Type.Integer({ minimum: 1, maximum: 200 }),
      },
      strict,
    ),
    result: Type.Object(
      { items: Type.Array(HistoryItemSchema), total: Type.Integer({ minimum: 0 }) },
      strict,
    ),
  },
  'history:exportCsv': { request: Empty, result: Type.Object({ csv: Type.String() }, strict) },
  /** Prints an issued piece again without charging. */
  'history:reprint': {
    request: Type.Object(
      {
        pieceId: Type.String({ minLength: 1, maxLength: 64 }),
        media: MediaSchema,
        printer: PrinterSchema,
      },
      strict,
    ),
    result: Type.Object(
      { pdfPath: Type.String(), jobId: Type.Union([Type.String(), Type.Null()]) },
      strict,
    ),
  },
  /** Refunds an unused (misprinted) piece to the meter's balance. */
  'history:refund': {
    request: Type.Object({ pieceId: Type.String({ minLength: 1, maxLength: 64 }) }, strict),
    result: Type.Object({ balanceCents: CentsSchema }, strict),
  },

  'printers:list': { request: Empty, result: Type.Array(PrinterInfoSchema) },

  'settings:get': { request: Empty, result: SettingsSchema },
  /** Saves the settings; switching demoMode starts or stops the embedded data center. */
  'settings:set': { request: SettingsSchema, result: SettingsSchema },

  'app:info': {
    request: Empty,
    result: Type.Object({ demo: Type.Boolean(), version: Type.String() }, strict),
  },
} as const satisfies Record<string, { request: TSchema; result: TSchema }>;

export type IpcMap = typeof IPC;
export type IpcChannel = keyof IpcMap;
export const IPC_CHANNELS = Object.keys(IPC) as IpcChannel[];
export type IpcRequest<C extends IpcChannel> = Static<IpcMap[C]['request']>;
export type IpcValue<C extends IpcChannel> = Static<IpcMap[C]['result']>;

export function isIpcChannel(value: unknown): value is IpcChannel {
  return typeof value === 'string' && Object.hasOwn(IPC, value);
}

/** One-way events, main → renderer. */
export const IPC_EVENTS = { 'batch:progress': BatchProgressSchema } as const;
export type IpcEvent = keyof typeof IPC_EVENTS;
export type IpcEventPayload<E extends IpcEvent> = Static<(typeof IPC_EVENTS)[E]>;

// ---------------------------------------------------------------------------------------------
// Results and errors

export interface IpcError {
  /** Stable code, SCREAMING_SNAKE (e.g. INSUFFICIENT_FUNDS, NOT_SIGNED_IN, BAD_REQUEST). */
  code: string;
  /** For the user: what happened and what to do next. Never internals. */
  message: string;
  /** The request field the error concerns, as a JSON pointer ("/recipient/zip"), if any. */
  field?: string;
}

/** What crosses the process border: a value or an error, never a throw. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

/** Codes the IPC layer itself produces; services add their own (see ClientServices). */
export const IPC_ERROR_CODES = {
  /** The request did not match the channel's schema. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The channel does not exist. */
  UNKNOWN_CHANNEL: 'UNKNOWN_CHANNEL',
  /** The message did not come from the app's own window and origin. */
  FORBIDDEN: 'FORBIDDEN',
  /** An unexpected failure; details are in the main process log. */
  INTERNAL: 'INTERNAL',
} as const;

/** Codes the renderer reacts to specially (services should use them where they fit). */
export const SERVICE_ERROR_CODES = {
  /** No session, or it expired: the renderer returns to sign-on. */
  NOT_SIGNED_IN: 'NOT_SIGNED_IN',
  /** The data center cannot be reached. */
  UNREACHABLE: 'UNREACHABLE',
  BAD_CREDENTIALS: 'BAD_CREDENTIALS',
  USERNAME_TAKEN: 'USERNAME_TAKEN',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  NOT_REFUNDABLE: 'NOT_REFUNDABLE',
  PRINTER_FAILED: 'PRINTER_FAILED',
} as const;

// ---------------------------------------------------------------------------------------------
// The two sides

/** `window.vpm`: exactly one method per channel, plus the batch progress subscription. */
export type VpmWindowApi = {
  readonly [C in IpcChannel]: (request: IpcRequest<C>) => Promise<IpcResult<IpcValue<C>>>;
} & {
  /** Calls `listener` for each batch progress event; returns the unsubscribe function. */
  readonly onBatchProgress: (listener: (progress: BatchProgress) => void) => () => void;
};

/** What a service method may use besides its request. */
export interface ServiceContext {
  /** Sends a one-way event to the renderer (e.g. batch:progress). */
  emit<E extends IpcEvent>(event: E, payload: IpcEventPayload<E>): void;
}

/**
 * The client services (Node, client/): one async method per channel, request → value. A method
 * receives a request already validated against the channel's schema. On failure it throws an
 * Error carrying a stable `code` (and optionally `field`, a JSON pointer into the request); its
 * `message` is shown to the user, so it says what happened and what to do, without internals.
 * An error without a `code` is reported to the user as INTERNAL with a generic message.
 */
export type ClientServices = {
  readonly [C in IpcChannel]: (
    request: IpcRequest<C>,
    context: ServiceContext,
  ) => Promise<IpcValue<C>>;
};

/** Where settings live; Electron main passes a JSON file in its userData directory. */
export interface SettingsStore {
  load(): Promise<Settings>;
  save(settings: Settings): Promise<void>;
}

export interface ClientRuntimeOptions {
  /** Directory for the client's own files (session, batch resume files, PDFs, demo data). */
  dataDir: string;
  settings: SettingsStore;
  /** Reported by app:info. */
  appVersion: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** The services plus their lifecycle. */
export interface ClientRuntime {
  services: ClientServices;
  /**
   * Starts the embedded data center on loopback and signs in (creating it if needed) the demo
   * account; app:info then reports demo: true and every indicium is a SAMPLE.
   */
  startDemo(): Promise<{ serverUrl: string; username: string }>;
  /** Stops the embedded data center, if any, and releases files. */
  close(): Promise<void>;
}

/** `client/services` exports `createClientServices` of this type. */
export type CreateClientServices = (options: ClientRuntimeOptions) => Promise<ClientRuntime>;

export type { MailClass };
