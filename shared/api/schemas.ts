/**
 * @module api/schemas
 * The data center's HTTP API as JSON Schema (TypeBox): the communication server (patent part 32)
 * validates every request with these at the edge, and the client types its calls from the same
 * definitions, so the two sides cannot drift apart.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { MAIL_CLASS_NAMES } from '../mail-class';
import { MAX_CENTS } from '../money';
import { ZIP5_PATTERN, ZIP_DEST_PATTERN } from '../zip';

const Cents = (description: string, minimum = 0) =>
  Type.Integer({ minimum, maximum: MAX_CENTS, description });

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
  ascendingCents: Cents('ascending register: postage used so far'),
  creditedCents: Cents('total funded'),
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
    mailingDate: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
  },
  { additionalProperties: false },
);

export const IssuedPiece = Type.Object({
  pieceId: Uuid,
  idempotencyKey: Type.Union([IdempotencyKey, Type.Null()]),
  indicium: Base64,
  postageCents: Type.Integer(),
  ascendingCents: Type.Integer(),
  descendingCents: Type.Integer(),
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
  balanceCents: Type.Integer(),
});

export const RefundRequest = Type.Object({ pieceId: Uuid }, { additionalProperties: false });
export const RefundResponse = Type.Object({
  pieceId: Uuid,
  refundedCents: Type.Integer(),
  balanceCents: Type.Integer(),
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
  postageCents: Type.Integer(),
  mailClass: MailClassSchema,
  destinationZip: Type.String(),
  ascendingCents: Type.Integer(),
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
  seenBefore: Type.Integer({ description: 'how many times this indicium was verified before' }),
});

export const CertificateBundle = Type.Object({
  vendorCaPem: Type.String(),
  certificates: Type.Record(Type.String(), Type.String()),
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
export type CertificateBundle = Static<typeof CertificateBundle>;
export type FraudAlert = Static<typeof FraudAlert>;
export type ErrorBody = Static<typeof ErrorBody>;
export type { TSchema };
