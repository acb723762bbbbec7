/**
 * @module rates/rate-table
 * A rate table as data: versioned, with the date it takes effect and its source, one entry per
 * service (mail class) with weight steps priced per zone (zones 1–9) or unzoned, the largest
 * weight and size the service takes, the dimensional-weight rule where the service prices by
 * size, and flat-rate packaging. The data center serves it signed by the transaction box; the
 * client caches the last one and prices from it offline. `checkRateTable` is the one validation
 * the data center's import and the client's cache both run.
 */
import { Type, type Static } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { MAIL_CLASS_NAMES } from '../mail-class';
import { MAX_CENTS } from '../money';

const strict = { additionalProperties: false } as const;

export const RATE_TABLE_FORMAT = 'vpm-rates-1';
export type Zone = 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9;
export const ZONES: readonly Zone[] = [1, 2, 3, 4, 5, 6, 7, 8, 9];

const Cents = Type.Integer({ minimum: 1, maximum: MAX_CENTS });
// Minimums rather than exclusive minimums: the API document is OpenAPI 3.0 (boolean form).
const Ounces = Type.Number({ minimum: 0.001, maximum: 1120 });
const Inches = Type.Number({ minimum: 0.001, maximum: 200 });
const Text = (max: number) => Type.String({ minLength: 1, maxLength: max });

export const RateStepSchema = Type.Object(
  {
    /** A piece up to this weight (ounces; a pound is 16) pays this step. */
    maxWeightOz: Ounces,
    /** One price for an unzoned service, else nine: zones 1 to 9. */
    cents: Type.Array(Cents, { minItems: 1, maxItems: 9 }),
  },
  strict,
);

export const FlatRateSchema = Type.Object(
  {
    /** Packaging id, as the mailer names it (`--packaging flat-rate-envelope`). */
    packaging: Type.String({ pattern: '^[a-z0-9-]{1,40}$' }),
    label: Text(80),
    cents: Cents,
    /** Where this price comes from. */
    source: Text(300),
  },
  strict,
);

export const RateServiceSchema = Type.Object(
  {
    mailClass: Type.Union(MAIL_CLASS_NAMES.map((n) => Type.Literal(n))),
    /** Where this service's figures come from, or why the table has none. */
    source: Text(500),
    zoned: Type.Boolean(),
    /** Ascending weight steps; empty when the table carries no prices for the service. */
    steps: Type.Array(RateStepSchema, { maxItems: 200 }),
    /** The heaviest piece the service takes, in ounces. */
    maxWeightOz: Ounces,
    /** The largest piece: length, width, thickness in inches (sorted largest first). */
    maxSizeIn: Type.Optional(Type.Array(Inches, { minItems: 3, maxItems: 3 })),
    /** Parcels: the largest length plus girth, inches. */
    maxLengthPlusGirthIn: Type.Optional(Inches),
    /** Dimensional weight: above `minCubicInches`, billed weight is the larger of the weight and L×W×H/divisor pounds. */
    dimensional: Type.Optional(
      Type.Object(
        {
          divisor: Type.Integer({ minimum: 1, maximum: 1000 }),
          minCubicInches: Type.Integer({ minimum: 0, maximum: 100_000 }),
        },
        strict,
      ),
    ),
    flatRate: Type.Optional(Type.Array(FlatRateSchema, { maxItems: 30 })),
  },
  strict,
);

export const RateTableSchema = Type.Object(
  {
    format: Type.Literal(RATE_TABLE_FORMAT),
    /** This table's version; a new import needs a new version. */
    version: Type.String({ pattern: '^[A-Za-z0-9._-]{1,64}$' }),
    /** YYYY-MM-DD the prices take effect. */
    effectiveDate: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    /** Where the prices come from. */
    source: Text(1000),
    services: Type.Array(RateServiceSchema, { minItems: 1, maxItems: 20 }),
  },
  strict,
);

export type RateStep = Static<typeof RateStepSchema>;
export type FlatRate = Static<typeof FlatRateSchema>;
export type RateService = Static<typeof RateServiceSchema>;
export type RateTable = Static<typeof RateTableSchema>;

export class RateTableError extends Error {
  readonly code = 'BAD_RATE_TABLE';
  constructor(readonly problems: string[]) {
    super(
      `rate table: ${problems.length} problem(s), nothing changed:\n${problems
        .slice(0, 30)
        .map((p) => `  ${p}`)
        .join('\n')}`,
    );
    this.name = 'RateTableError';
  }
}

const realDate = (text: string): boolean => {
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === text;
};

/** Checks a table in full: the schema, then what a schema cannot say. Throws RateTableError. */
export function checkRateTable(value: unknown): RateTable {
  if (!Value.Check(RateTableSchema, value)) {
    const problems = [...Value.Errors(RateTableSchema, value)]
      .slice(0, 30)
      .map((e) => `${e.path || '/'}: ${e.message}`);
    throw new RateTableError(problems);
  }
  const problems: string[] = [];
  if (!realDate(value.effectiveDate))
    problems.push(`/effectiveDate: ${value.effectiveDate} is not a date`);
  const seen = new Set<string>();
  value.services.forEach((s, i) => {
    const at = `/services/${i} (${s.mailClass})`;
    if (seen.has(s.mailClass)) problems.push(`${at}: the service is listed twice`);
    seen.add(s.mailClass);
    let previous = 0;
    s.steps.forEach((step, j) => {
      if (step.maxWeightOz <= previous)
        problems.push(
          `${at}/steps/${j}: weights must ascend (${step.maxWeightOz} oz after ${previous} oz)`,
        );
      previous = step.maxWeightOz;
      const want = s.zoned ? 9 : 1;
      if (step.cents.length !== want)
        problems.push(
          `${at}/steps/${j}: ${want} price(s) expected (${s.zoned ? 'zones 1 to 9' : 'unzoned'}), found ${step.cents.length}`,
        );
    });
    if (previous > s.maxWeightOz)
      problems.push(
        `${at}: a step (${previous} oz) is above the service's maximum of ${s.maxWeightOz} oz`,
      );
    const packs = new Set<string>();
    for (const f of s.flatRate ?? []) {
      if (packs.has(f.packaging)) problems.push(`${at}: packaging ${f.packaging} is listed twice`);
      packs.add(f.packaging);
    }
  });
  if (problems.length > 0) throw new RateTableError(problems);
  return value;
}
