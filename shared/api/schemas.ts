/**
 * @module api/schemas
 * The data center's HTTP API as JSON Schema (TypeBox): the communication server (patent part 32)
 * validates every request with these at the edge, and the client types its calls from the same
 * definitions, so the two sides cannot drift apart.
 */
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import { isCalendarDate } from '../calendar-date';
import { API_ERROR_CODES, type ApiErrorCode } from './errors';
import {
  CardNumberSchema,
  CentsSchema,
  described,
  HISTORY_MAX_PAGE,
  HistorySearchSchema,
  IdempotencyKeySchema,
  MailClassSchema,
  NewPasswordSchema,
  PasswordSchema,
  PersonNameSchema,
  PieceIdSchema,
  PieceStatusSchema,
  PostageCentsSchema,
  RefillCentsSchema,
  RegisterCentsSchema,
  UsernameSchema,
  WeightOzSchema,
  Zip5Schema,
  ZipDestSchema,
} from '../domain';
import { RateTableSchema } from '../rates/rate-table';

// `format: 'calendar-date'`: YYYY-MM-DD naming a day that exists (checked at the edge).
if (!FormatRegistry.Has('calendar-date')) FormatRegistry.Set('calendar-date', isCalendarDate);

// The atoms (shared/domain.ts), with the descriptions the API document shows.
/** An amount or a balance: 0 … MAX_CENTS, the product's one money ceiling. */
const Cents = (description: string) => described(CentsSchema, description);
/** The postage of a piece: at least one cent. */
const PostageCents = (description: string) => described(PostageCentsSchema, description);
/** A refill or auto-refill: at least MIN_REFILL_CENTS. */
const RefillCents = (description: string) => described(RefillCentsSchema, description);
/** A lifetime total (ascending register, total credited): it only grows. */
const RegisterCents = (description: string) => described(RegisterCentsSchema, description);
/** A mailing date: YYYY-MM-DD, a real calendar day. */
export const CalendarDate = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  format: 'calendar-date',
  description: 'YYYY-MM-DD, a day that exists',
});

export const Username = UsernameSchema;
export const Password = NewPasswordSchema;
export const Zip5 = Zip5Schema;
export const ZipDest = ZipDestSchema;
export { MailClassSchema };
export const IdempotencyKey = IdempotencyKeySchema;
export const Uuid = PieceIdSchema;
export const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 4096 });

/** An error answer: `code` is one of the API's codes (a closed enum, shared/api/errors.ts). */
export const ErrorBody = Type.Object({
  error: Type.Object({
    code: Type.Unsafe<ApiErrorCode>({ type: 'string', enum: API_ERROR_CODES }),
    message: Type.String(),
  }),
});

export const SignUpRequest = Type.Object(
  {
    username: Username,
    password: Password,
    name: PersonNameSchema,
    originZip: Zip5,
    demo: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const SignInRequest = Type.Object(
  { username: Username, password: PasswordSchema },
  { additionalProperties: false },
);

export const Session = Type.Object({
  token: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
  mailerId: Type.String(),
});

export const Account = Type.Object({
  username: Username,
  name: Type.String(),
  originZip: Zip5,
  meterSerial: Type.String(),
  certificateSerial: Type.String(),
  balanceCents: Cents('descending register: postage still available'),
  ascendingCents: RegisterCents('ascending register: postage used so far'),
  creditedCents: RegisterCents('total funded'),
  lowBalanceCents: Cents('warn below this balance'),
  autoRefillCents: Type.Union([RefillCents('refill by this amount when low'), Type.Null()]),
  demo: Type.Boolean(),
  status: Type.Union([Type.Literal('active'), Type.Literal('suspended')]),
});

export const SignInResponse = Type.Object({
  session: Session,
  account: Account,
  previousLogin: Type.Union([Type.String(), Type.Null()]),
});

export const RefillRequest = Type.Object(
  {
    amountCents: RefillCents('amount to add'),
    cardNumber: CardNumberSchema,
    idempotencyKey: IdempotencyKey,
  },
  { additionalProperties: false },
);

export const SettingsRequest = Type.Object(
  {
    lowBalanceCents: Cents('warn below this balance'),
    autoRefillCents: Type.Union([RefillCents('auto refill amount'), Type.Null()]),
  },
  { additionalProperties: false },
);

export const PieceSpec = Type.Object(
  {
    idempotencyKey: IdempotencyKey,
    postageCents: PostageCents('postage for this piece'),
    mailClass: MailClassSchema,
    destinationZip: ZipDest,
    /** The piece's weight, when known: picks the tracking number's service type (Ground Advantage). */
    weightOz: Type.Optional(WeightOzSchema),
  },
  { additionalProperties: false },
);

export const DispenseRequest = Type.Object(
  {
    pieces: Type.Array(PieceSpec, { minItems: 1, maxItems: 500 }),
    mailingDate: Type.Optional(CalendarDate),
  },
  { additionalProperties: false },
);

export const IssuedPiece = Type.Object({
  pieceId: Uuid,
  idempotencyKey: Type.Union([IdempotencyKey, Type.Null()]),
  indicium: Base64,
  postageCents: PostageCents('postage of this piece'),
  ascendingCents: RegisterCents('ascending register after this piece'),
  descendingCents: Cents('descending register after this piece'),
  mailClass: MailClassSchema,
  destinationZip: Type.String(),
  mailingDate: Type.String(),
  createdAt: Type.String(),
  status: PieceStatusSchema,
  trackingNumber: Type.Optional(
    Type.String({
      pattern: '^[0-9]{20,34}$',
      description: 'USPS tracking number (IMpb for packages, IMb tracking code for letters)',
    }),
  ),
  replayed: Type.Boolean({
    description: 'true when this answer repeats an earlier request with the same key',
  }),
});

export const DispenseResponse = Type.Object({
  pieces: Type.Array(IssuedPiece),
  balanceCents: Cents('balance after this request'),
});

export const RefundRequest = Type.Object({ pieceId: Uuid }, { additionalProperties: false });
export const RefundResponse = Type.Object({
  pieceId: Uuid,
  refundedCents: PostageCents('postage credited back'),
  balanceCents: Cents('balance after the refund'),
});

export const HistoryQuery = Type.Object(
  {
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: HISTORY_MAX_PAGE, default: 1 })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    q: Type.Optional(HistorySearchSchema),
  },
  { additionalProperties: false },
);

export const HistoryItem = Type.Object({
  pieceId: Uuid,
  createdAt: Type.String(),
  mailingDate: Type.String(),
  postageCents: PostageCents('postage of this piece'),
  mailClass: MailClassSchema,
  destinationZip: Type.String(),
  ascendingCents: RegisterCents('ascending register after this piece'),
  status: PieceStatusSchema,
  refundable: Type.Boolean(),
  indicium: Base64,
  trackingNumber: Type.Optional(Type.String({ pattern: '^[0-9]{20,34}$' })),
});

export const HistoryResponse = Type.Object({
  items: Type.Array(HistoryItem),
  total: Type.Integer(),
  page: Type.Integer(),
  pageSize: Type.Integer(),
});

export const VerifyRequest = Type.Object({ indicium: Base64 }, { additionalProperties: false });
export const VerifyResponse = Type.Object({
  verdict: Type.Union(
    ['valid', 'demo-sample', 'bad-signature', 'unknown-certificate', 'duplicate', 'unreadable'].map(
      (v) => Type.Literal(v),
    ),
  ),
  reason: Type.String(),
  seenBefore: Type.Integer({
    description: 'how many times the post office accepted this piece before (acceptance scans)',
  }),
});

/** An acceptance scan by a postal scanner (POST /v1/scans): the verdict, and the piece is used. */
export const ScanRequest = VerifyRequest;
export const ScanResponse = VerifyResponse;

export const CertificateSerial = Type.String({ pattern: '^[0-9a-f]{16}$' });
export const CertificatesQuery = Type.Object(
  {
    after: Type.Optional(CertificateSerial),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  },
  { additionalProperties: false },
);

/** One page of the meter certificates, in serial order; `next` is the `after` of the next page. */
export const CertificateBundle = Type.Object({
  vendorCaPem: Type.String(),
  certificates: Type.Record(Type.String(), Type.String()),
  next: Type.Optional(Type.Union([CertificateSerial, Type.Null()])),
});

/** `GET /v1/rates`: the rate table in force, signed by the transaction box (shared/rates/). */
export const RatesResponse = Type.Object({
  table: RateTableSchema,
  /** base64 ECDSA P-256 (r || s) over the "rate-table" transaction record. */
  signature: Type.String(),
  /** The transaction box's certificate, issued by the vendor CA. */
  certificatePem: Type.String(),
  vendorCaPem: Type.String(),
});

export const Health = Type.Object({
  status: Type.Literal('ok'),
  version: Type.String(),
  boxes: Type.Record(Type.String(), Type.String()),
});

export const FraudAlert = Type.Object({
  id: Type.Integer(),
  createdAt: Type.String(),
  meterSerial: Type.Union([Type.String(), Type.Null()]),
  reason: Type.String(),
  code: Type.String(),
});
export const AlertsResponse = Type.Object({ alerts: Type.Array(FraudAlert) });

export type SignUpRequest = Static<typeof SignUpRequest>;
export type SignInRequest = Static<typeof SignInRequest>;
export type SignInResponse = Static<typeof SignInResponse>;
export type Session = Static<typeof Session>;
export type Account = Static<typeof Account>;
export type RefillRequest = Static<typeof RefillRequest>;
export type SettingsRequest = Static<typeof SettingsRequest>;
export type PieceSpec = Static<typeof PieceSpec>;
export type DispenseRequest = Static<typeof DispenseRequest>;
export type IssuedPiece = Static<typeof IssuedPiece>;
export type DispenseResponse = Static<typeof DispenseResponse>;
export type RefundRequest = Static<typeof RefundRequest>;
export type RefundResponse = Static<typeof RefundResponse>;
export type HistoryQuery = Static<typeof HistoryQuery>;
export type HistoryItem = Static<typeof HistoryItem>;
export type HistoryResponse = Static<typeof HistoryResponse>;
export type VerifyRequest = Static<typeof VerifyRequest>;
export type VerifyResponse = Static<typeof VerifyResponse>;
export type ScanRequest = Static<typeof ScanRequest>;
export type ScanResponse = Static<typeof ScanResponse>;
export type CertificatesQuery = Static<typeof CertificatesQuery>;
export type CertificateBundle = Static<typeof CertificateBundle>;
export type RatesResponse = Static<typeof RatesResponse>;
export type FraudAlert = Static<typeof FraudAlert>;
export type ErrorBody = Static<typeof ErrorBody>;
export type { TSchema };
