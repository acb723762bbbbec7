/**
 * @module ipc/shipping
 * What the app's shipping channels carry (issue 15): the rate comparison of the new-piece screen
 * (every service for the piece with its price and zone, cheapest first), the offline address
 * check with its suggestion, and the address book's entries.
 */
import { Type, type Static } from '@sinclair/typebox';
import { CentsSchema, MailClassSchema, WeightOzSchema, Zip5Schema, ZipDestSchema } from '../domain';
import { DraftRecipientSchema, RecipientSchema, strict } from './schemas';

const ZoneSchema = Type.Integer({ minimum: 1, maximum: 9 });
const InchesSchema = Type.Number({ exclusiveMinimum: 0, maximum: 200 });
export const HANDLE_PATTERN = '^@?[A-Za-z0-9][A-Za-z0-9._-]{0,39}$';
const HandleSchema = Type.String({ pattern: HANDLE_PATTERN });

export const RatesCompareRequestSchema = Type.Object(
  {
    destinationZip: ZipDestSchema,
    weightOz: WeightOzSchema,
    /** Length, width, height in inches. */
    dimsIn: Type.Optional(Type.Tuple([InchesSchema, InchesSchema, InchesSchema])),
    /** Default: the meter's origin ZIP. */
    originZip: Type.Optional(Zip5Schema),
  },
  strict,
);

export const RateOfferSchema = Type.Object(
  {
    mailClass: MailClassSchema,
    label: Type.String(),
    postageCents: CentsSchema,
    zone: Type.Union([ZoneSchema, Type.Null()]),
    billedWeightOz: Type.Number(),
    packaging: Type.Optional(Type.String()),
    packagingLabel: Type.Optional(Type.String()),
  },
  strict,
);
export type RateOffer = Static<typeof RateOfferSchema>;

export const RateComparisonSchema = Type.Object(
  {
    zone: ZoneSchema,
    zoneBasis: Type.Union([
      Type.Literal('chart'),
      Type.Literal('distance'),
      Type.Literal('territory'),
    ]),
    miles: Type.Union([Type.Number(), Type.Null()]),
    table: Type.Object(
      {
        version: Type.String(),
        effectiveDate: Type.String(),
        source: Type.String(),
        /** Where the client got it: the data center now, its cache, or the shipped table. */
        from: Type.Union([
          Type.Literal('data center'),
          Type.Literal('cache'),
          Type.Literal('shipped'),
        ]),
      },
      strict,
    ),
    offers: Type.Array(RateOfferSchema),
    unavailable: Type.Array(
      Type.Object(
        {
          mailClass: MailClassSchema,
          label: Type.String(),
          code: Type.String(),
          reason: Type.String(),
        },
        strict,
      ),
    ),
  },
  strict,
);
export type RateComparison = Static<typeof RateComparisonSchema>;

export const AddressCheckSchema = Type.Object(
  {
    ok: Type.Boolean(),
    normalized: DraftRecipientSchema,
    problems: Type.Array(Type.String()),
    suggestion: Type.Union([DraftRecipientSchema, Type.Null()]),
    hints: Type.Array(Type.String()),
  },
  strict,
);
export type AddressCheckResult = Static<typeof AddressCheckSchema>;

export const AddressBookEntrySchema = Type.Object(
  { handle: Type.String(), address: RecipientSchema, savedAt: Type.String() },
  strict,
);
export type AddressBookEntry = Static<typeof AddressBookEntrySchema>;

/** The shipping channels, merged into the IPC map (./channels.ts). */
export const SHIPPING_CHANNELS = {
  /** Every service for the piece, cheapest first, from the rate table the client holds. */
  'rates:compare': { request: RatesCompareRequestSchema, result: RateComparisonSchema },
  /** The offline ZIP ↔ city ↔ state check, with the address in USPS style and a suggestion. */
  'address:check': {
    request: Type.Object({ address: DraftRecipientSchema }, strict),
    result: AddressCheckSchema,
  },
  'addressBook:list': {
    request: Type.Object({ query: Type.Optional(Type.String({ maxLength: 100 })) }, strict),
    result: Type.Array(AddressBookEntrySchema),
  },
  'addressBook:save': {
    request: Type.Object({ handle: HandleSchema, address: RecipientSchema }, strict),
    result: AddressBookEntrySchema,
  },
  'addressBook:remove': {
    request: Type.Object({ handle: HandleSchema }, strict),
    result: Type.Null(),
  },
  /** Saves every row of a CSV in the batch format (optional `handle` column). */
  'addressBook:import': {
    request: Type.Object({ csv: Type.String({ minLength: 1, maxLength: 5_000_000 }) }, strict),
    result: Type.Object({ imported: Type.Integer({ minimum: 0 }) }, strict),
  },
} as const;
