/**
 * The desktop app's IPC edge and the data center's HTTP edge agree: whatever request the IPC
 * edge accepts, the client turns into an HTTP request the data center's edge accepts (no form
 * that passes the app's checks only to be refused by the server, as a refill of $0.50, a user
 * name with "@" or a 100-character history search were before the atoms were shared).
 *
 * The generator is derived from each IPC request schema itself (its patterns, bounds, optional
 * fields and unions), so a wider IPC rule produces the values that break the HTTP one.
 */
import { Kind, OptionalKind, type TSchema } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import * as Api from '../../shared/api/schemas';
import * as Domain from '../../shared/domain';
import { IPC, type IpcChannel, type IpcRequest } from '../../shared/ipc';
import {
  historyQuery,
  newIdempotencyKey,
  pieceSpec,
  refillRequest,
  refundRequest,
  settingsRequest,
  signInRequest,
  signUpRequest,
} from '../../client/services/http-requests';

type Schema = TSchema & Record<string, unknown>;

/** Values shaped by a schema: mostly inside its rules, at and just past its bounds. */
function arbitraryFor(schema: Schema): fc.Arbitrary<unknown> {
  switch (schema[Kind]) {
    case 'Object': {
      const properties = schema.properties as Record<string, Schema>;
      const record: Record<string, fc.Arbitrary<unknown>> = {};
      const requiredKeys: string[] = [];
      for (const [key, property] of Object.entries(properties)) {
        record[key] = arbitraryFor(property);
        if (property[OptionalKind] !== 'Optional') requiredKeys.push(key);
      }
      return fc.record(record, { requiredKeys });
    }
    case 'Union':
      return fc.oneof(...(schema.anyOf as Schema[]).map(arbitraryFor));
    case 'Literal':
      return fc.constant(schema.const);
    case 'Null':
      return fc.constant(null);
    case 'Boolean':
      return fc.boolean();
    case 'Integer': {
      const min = (schema.minimum as number | undefined) ?? -1_000_000;
      const max = (schema.maximum as number | undefined) ?? 1_000_000;
      return fc.oneof(
        fc.integer({ min, max }),
        fc.constantFrom(min, min + 1, max - 1, max, min - 1, max + 1),
      );
    }
    case 'Number': {
      const min = (schema.minimum ?? schema.exclusiveMinimum ?? -1e6) as number;
      const max = (schema.maximum ?? schema.exclusiveMaximum ?? 1e6) as number;
      return fc.oneof(
        fc.double({ min, max, noNaN: true }),
        fc.constantFrom(min, max, min + 0.01, max - 0.01),
      );
    }
    case 'String': {
      const minLength = (schema.minLength as number | undefined) ?? 0;
      const maxLength = (schema.maxLength as number | undefined) ?? 200;
      const free = fc.string({ minLength, maxLength: Math.min(maxLength, 300) });
      if (typeof schema.pattern !== 'string') return free;
      return fc.oneof(
        { weight: 4, arbitrary: fc.stringMatching(new RegExp(schema.pattern)) },
        { weight: 1, arbitrary: free },
      );
    }
    default:
      throw new Error(`no generator for schema kind ${String(schema[Kind])}`);
  }
}

/** Requests the IPC edge accepts on this channel. */
function accepted<C extends IpcChannel>(channel: C): fc.Arbitrary<IpcRequest<C>> {
  const schema = IPC[channel].request as unknown as Schema;
  return arbitraryFor(schema).filter((value): value is IpcRequest<C> => Value.Check(schema, value));
}

function httpAccepts(schema: TSchema, value: unknown): boolean {
  if (Value.Check(schema, value)) return true;
  const first = [...Value.Errors(schema, value)][0];
  throw new Error(
    `the HTTP edge refuses ${JSON.stringify(value)}: ${first?.path} ${first?.message}`,
  );
}

const RUNS = { numRuns: 300 };

describe('what the IPC edge accepts, the HTTP edge accepts', () => {
  it('auth:signUp → POST /v1/mailers', () => {
    fc.assert(
      fc.property(accepted('auth:signUp'), (req) =>
        httpAccepts(Api.SignUpRequest, signUpRequest(req)),
      ),
      RUNS,
    );
  });

  it('auth:signIn → POST /v1/sessions', () => {
    fc.assert(
      fc.property(accepted('auth:signIn'), (req) =>
        httpAccepts(Api.SignInRequest, signInRequest(req)),
      ),
      RUNS,
    );
  });

  it('account:refill → POST /v1/refills, with the key the client makes', () => {
    fc.assert(
      fc.property(accepted('account:refill'), (req) =>
        httpAccepts(Api.RefillRequest, refillRequest(req)),
      ),
      RUNS,
    );
  });

  it('account:setLowBalance → PUT /v1/account/settings', () => {
    fc.assert(
      fc.property(accepted('account:setLowBalance'), (req) =>
        httpAccepts(Api.SettingsRequest, settingsRequest(req)),
      ),
      RUNS,
    );
  });

  it('piece:print → POST /v1/dispense', () => {
    fc.assert(
      fc.property(accepted('piece:print'), (req) =>
        httpAccepts(Api.DispenseRequest, { pieces: [pieceSpec(req)] }),
      ),
      RUNS,
    );
  });

  it('history:list → GET /v1/history', () => {
    fc.assert(
      fc.property(accepted('history:list'), (req) =>
        httpAccepts(Api.HistoryQuery, historyQuery(req)),
      ),
      RUNS,
    );
  });

  it('history:refund → POST /v1/refunds', () => {
    fc.assert(
      fc.property(accepted('history:refund'), (req) =>
        httpAccepts(Api.RefundRequest, refundRequest(req)),
      ),
      RUNS,
    );
  });

  it('the keys the client makes itself fit the one idempotency-key atom', () => {
    for (const prefix of ['refill', 'demo', 'batch'])
      expect(Value.Check(Domain.IdempotencyKeySchema, newIdempotencyKey(prefix))).toBe(true);
  });
});

describe('one definition of each atom', () => {
  it('the two edges use the same atoms for the same fields', () => {
    const ipc = IPC;
    const refill = ipc['account:refill'].request.properties;
    expect(refill.amountCents).toBe(Domain.RefillCentsSchema);
    expect(Api.RefillRequest.properties.amountCents.minimum).toBe(Domain.MIN_REFILL_CENTS);
    expect(refill.cardNumber).toBe(Domain.CardNumberSchema);
    expect(Api.RefillRequest.properties.cardNumber).toBe(Domain.CardNumberSchema);
    expect(ipc['auth:signUp'].request.properties.username).toBe(Domain.UsernameSchema);
    expect(Api.SignUpRequest.properties.username).toBe(Domain.UsernameSchema);
    expect(ipc['piece:print'].request.properties.idempotencyKey).toBe(Domain.IdempotencyKeySchema);
    expect(Api.PieceSpec.properties.idempotencyKey).toBe(Domain.IdempotencyKeySchema);
    expect(ipc['piece:print'].request.properties.mailClass).toBe(Domain.MailClassSchema);
    expect(Api.PieceSpec.properties.mailClass).toBe(Domain.MailClassSchema);
  });

  it('the data center refuses what the shared atoms refuse (the minimums that used to differ)', () => {
    const refill = { cardNumber: '4242424242424242', idempotencyKey: 'refill-test-0001' };
    expect(Value.Check(Api.RefillRequest, { ...refill, amountCents: 99 })).toBe(false);
    expect(Value.Check(Api.RefillRequest, { ...refill, amountCents: 100 })).toBe(true);
    expect(
      Value.Check(IPC['account:refill'].request, {
        amountCents: 99,
        cardNumber: '4242424242424242',
      }),
    ).toBe(false);
    expect(Value.Check(Domain.UsernameSchema, 'ann@example')).toBe(false);
    expect(Value.Check(Domain.UsernameSchema, 'Ann')).toBe(false);
    expect(Value.Check(Domain.UsernameSchema, Domain.normalizeUsername(' Ann '))).toBe(true);
    expect(Value.Check(Domain.CalibrationSchema, { xMm: 20, yMm: -20 })).toBe(true);
    expect(Value.Check(Domain.CalibrationSchema, { xMm: 20.5, yMm: 0 })).toBe(false);
  });
});
