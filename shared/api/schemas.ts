/**
 * @module api/schemas
 * The data center's HTTP API as JSON Schema (TypeBox): the communication server (patent part 32)
 * validates every request with these at the edge, and the client types its calls from the same
 * definitions, so the two sides cannot drift apart.
 */
import { FormatRegistry, Type, type Static, type TSchema } from '@sinclair/typebox';
import { isCalendarDate } from '../calendar-date';
import { MAIL_CLASS_NAMES } from '../mail-class';
import { MAX_CENTS, MAX_REGISTER_CENTS } from '../money';
import { ZIP5_PATTERN, ZIP_DEST_PATTERN } from '../zip';

// `format: 'calendar-date'`: YYYY-MM-DD naming a day that exists (checked at the edge).
if (!FormatRegistry.Has('calendar-date')) FormatRegistry.Set('calendar-date', isCalendarDate);

/** An amount or a balance: 0 … MAX_CENTS, the product's one money ceiling. */
const Cents = (description: string, minimum = 0) =>
  Type.Integer({ minimum, maximum: MAX_CENTS, description });
/** A lifetime total (ascending register, total credited): it only grows. */
const RegisterCents = (description: string) =>
  Type.Integer({ minimum: 0, maximum: MAX_REGISTER_CENTS, description });
/** A mailing date: YYYY-MM-DD, a real calendar day. */
export const CalendarDate = Type.String({
  pattern: '^\\d{4}-\\d{2}-\\d{2}$',
  format: 'calendar-date',
  description: 'YYYY-MM-DD, a day that exists',
});

export const Username = Type.String({
  pattern: '^[a-z0-9][a-z0-9._-]{2,63}$',
  description: 'lowercase letters, digits, . _ -; 3 to 64 characters',
});
export const Password = Type.String({ minLength: 10, maxLength: 256 });
export const Zip5 = Type.String({ pattern: ZIP5_PATTERN });
export const ZipDest = Type.String({ pattern: ZIP_DEST_PATTERN });
export const MailClassSchema = Type.Union(MAIL_CLASS_NAMES.map((name) => Type.Literal(name)));
export const IdempotencyKey = Type.String({ pattern: '^[A-Za-z0-9._:-]{8,128}$' });
export const Uuid = Type.String({
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
});
export const Base64 = Type.String({ pattern: '^[A-Za-z0-9+/]*={0,2}$', maxLength: 4096 });

export const ErrorBody = Type.Object({
  error: Type.Object({ code: Type.String(), message: Type.String() }),
});

export const SignUpRequest = Type.Object(
  {
    username: Username,
    password: Password,
    name: Type.String({ minLength: 1, maxLength: 100 }),
    originZip: Zip5,
    demo: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);

export const SignInRequest = Type.Object(
  { username: Username, password: Type.String({ minLength: 1, maxLength: 256 }) },
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
  autoRefillCents: Type.Union([Cents('refill by this amount when low', 1), Type.Null()]),
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
    amountCents: Cents('amount to add', 100),
    cardNumber: Type.String({ pattern: '^[0-9]{12,19}$' }),
    idempotencyKey: IdempotencyKey,
  },
  { additionalProperties: false },
);

export const SettingsRequest = Type.Object(
  {
    lowBalanceCents: Cents('warn below this balance'),
    autoRefillCents: Type.Union([Cents('auto refill amount', 100), Type.Null()]),
  },
  { additionalProperties: false },
);

export const PieceSpec = Type.Object(
  {
    idempotencyKey: IdempotencyKey,
    postageCents: Cents('postage for this piece', 1),
    mailClass: MailClassSchema,
    destinationZip: ZipDest,
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
  postageCents: Cents('postage of this piece', 1),
  ascendingCents: RegisterCents('ascending register after this piece'),
  descendingCents: Cents('descending register after this piece'),
  mailClass: MailClassSchema,
  destinationZip: Type.String(),
  mailingDate: Type.String(),
  createdAt: Type.String(),
  status: Type.Union([Type.Literal('issued'), Type.Literal('refunded')]),
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
  refundedCents: Cents('postage credited back', 1),
  balanceCents: Cents('balance after the refund'),
});

export const HistoryQuery = Type.Object(
  {
    page: Type.Optional(Type.Integer({ minimum: 1, maximum: 100000, default: 1 })),
    pageSize: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
    q: Type.Optional(Type.String({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const HistoryItem = Type.Object({
  pieceId: Uuid,
  createdAt: Type.String(),
  mailingDate: Type.String(),
  postageCents: Cents('postage of this piece', 1),
  mailClass: MailClassSchema,
  destinationZip: Type.String(),
  ascendingCents: RegisterCents('ascending register after this piece'),
  status: Type.Union([Type.Literal('issued'), Type.Literal('refunded')]),
  refundable: Type.Boolean(),
  indicium: Base64,
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
export type FraudAlert = Static<typeof FraudAlert>;
export type ErrorBody = Static<typeof ErrorBody>;
export type { TSchema };
