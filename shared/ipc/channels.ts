/**
 * @module ipc/channels
 * The desktop app's one typed IPC map: channel → request schema → result schema (TypeBox, i.e.
 * JSON Schema). The renderer calls `window.vpm[channel](request)` and gets an `IpcResult`; the
 * Electron main process validates every request against the channel's schema, then calls the
 * client services (client/services/contract.ts, one async method per channel) that talk to the
 * data center (patent Fig. 1: the mailer's PC ↔ communication server 32). The same map drives
 * the preload, the main-process router and the end-to-end harness, so the three cannot drift
 * apart. Requests are built from shared/domain.ts's atoms, as the HTTP API's are.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import {
  CardNumberSchema,
  CentsSchema,
  HISTORY_MAX_PAGE,
  HistorySearchSchema,
  IdempotencyKeySchema,
  MailClassSchema,
  MediaSchema,
  NewPasswordSchema,
  PasswordSchema,
  PersonNameSchema,
  PieceIdSchema,
  PostageCentsSchema,
  RefillCentsSchema,
  UsernameSchema,
  WeightOzSchema,
  Zip5Schema,
} from '../domain';
import type { IpcResult } from './results';
import { SHIPPING_CHANNELS } from './shipping';
import {
  AccountSchema,
  BatchProgressSchema,
  BatchRowSchema,
  DraftRecipientSchema,
  HistoryItemSchema,
  PrinterInfoSchema,
  PrinterSchema,
  RateTableSchema,
  RecipientSchema,
  SettingsSchema,
  ThermalFields,
  strict,
  type BatchProgress,
} from './schemas';

const Empty = Type.Object({}, strict);
const BatchIdSchema = Type.String({ pattern: '^[A-Za-z0-9_-]{8,128}$' });
const CsvSchema = Type.String({ minLength: 1, maxLength: 20_000_000 });

/** Every channel: its request and its result. Requests refuse unknown properties. */
export const IPC = {
  'auth:signUp': {
    request: Type.Object(
      {
        username: UsernameSchema,
        password: NewPasswordSchema,
        originZip: Zip5Schema,
        name: Type.Optional(PersonNameSchema),
      },
      strict,
    ),
    result: AccountSchema,
  },
  'auth:signIn': {
    request: Type.Object(
      {
        username: UsernameSchema,
        password: PasswordSchema,
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
        amountCents: RefillCentsSchema,
        cardNumber: CardNumberSchema,
      },
      strict,
    ),
    result: AccountSchema,
  },
  'account:setLowBalance': {
    request: Type.Object(
      {
        thresholdCents: CentsSchema,
        autoRefillCents: Type.Union([RefillCentsSchema, Type.Null()]),
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
        postageCents: PostageCentsSchema,
        mailClass: MailClassSchema,
        weightOz: Type.Optional(WeightOzSchema),
        media: MediaSchema,
        printer: PrinterSchema,
        ...ThermalFields,
        idempotencyKey: IdempotencyKeySchema,
        /** YYYY-MM-DD: today or a later day within the data center's window; absent: today. */
        mailingDate: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
        /** Print the recipient as written though the ZIP check disagrees (kept with the piece). */
        acceptAddress: Type.Optional(Type.Boolean()),
      },
      strict,
    ),
    result: Type.Object(
      {
        pieceId: PieceIdSchema,
        pdfPath: Type.String(),
        jobId: Type.Union([Type.String(), Type.Null()]),
        balanceCents: CentsSchema,
        trackingNumber: Type.Optional(Type.String({ pattern: '^[0-9]{20,34}$' })),
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
        ...ThermalFields,
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
        query: Type.Optional(HistorySearchSchema),
        /** Pages count from 0 here, from 1 at the data center. */
        page: Type.Integer({ minimum: 0, maximum: HISTORY_MAX_PAGE - 1 }),
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
        pieceId: PieceIdSchema,
        media: MediaSchema,
        printer: PrinterSchema,
        ...ThermalFields,
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
    request: Type.Object({ pieceId: PieceIdSchema }, strict),
    result: Type.Object({ balanceCents: CentsSchema }, strict),
  },

  'printers:list': { request: Empty, result: Type.Array(PrinterInfoSchema) },
  /** The settled weight on the attached USB postal scale; refused with what to do otherwise. */
  'scale:read': {
    request: Empty,
    result: Type.Object({ ounces: Type.Number({ minimum: 0 }), shown: Type.String() }, strict),
  },

  'settings:get': { request: Empty, result: SettingsSchema },
  /** Saves the settings; switching demoMode starts or stops the embedded data center. */
  'settings:set': { request: SettingsSchema, result: SettingsSchema },

  ...SHIPPING_CHANNELS,

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
// The renderer's side

/** `window.vpm`: exactly one method per channel, plus the batch progress subscription. */
export type VpmWindowApi = {
  readonly [C in IpcChannel]: (request: IpcRequest<C>) => Promise<IpcResult<IpcValue<C>>>;
} & {
  /** Calls `listener` for each batch progress event; returns the unsubscribe function. */
  readonly onBatchProgress: (listener: (progress: BatchProgress) => void) => () => void;
};
