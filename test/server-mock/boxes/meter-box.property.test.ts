/**
 * Property tests over random sequences of dispense, credit (refill/refund) and stale replays
 * against a real meter box: ascending + descending = credited always, every issued ascending
 * register value is unique, and a refusal changes nothing.
 */
import { randomUUID } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxError, type MeterRecord } from '../../../server-mock/boxes/index';
import { freshBoxes, fundedMeter, piece, type Fixture, mailerAuth } from './helpers';

let fx: Fixture;
beforeAll(async () => {
  fx = await freshBoxes();
});
afterAll(async () => {
  await fx.dispose();
});

type Op =
  | { kind: 'dispense'; postage: number[] }
  | { kind: 'credit'; amount: number }
  | { kind: 'replay'; back: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    kind: fc.constant('dispense' as const),
    postage: fc.array(fc.integer({ min: 1, max: 400 }), { minLength: 1, maxLength: 4 }),
  }),
  fc.record({ kind: fc.constant('credit' as const), amount: fc.integer({ min: 1, max: 1_000 }) }),
  fc.record({ kind: fc.constant('replay' as const), back: fc.integer({ min: 1, max: 3 }) }),
);

describe('MeterBox', () => {
  describe('random sequences of dispense and credit', () => {
    it('keep ascending + descending = credited, never repeat an ascending value, and refusals change nothing', async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.integer({ min: 0, max: 800 }),
          fc.array(op, { minLength: 1, maxLength: 10 }),
          async (initial, ops) => {
            let record: MeterRecord = await fundedMeter(fx.boxes, initial);
            const history: MeterRecord[] = [record];
            const ascending = new Set<number>();
            let credited = initial;
            for (const o of ops) {
              const journalBefore = await fx.boxes.meter.recover({ serial: record.serial });
              let refused: BoxError | undefined;
              try {
                if (o.kind === 'dispense') {
                  const r = await fx.boxes.meter.dispense({
                    auth: await mailerAuth(fx.boxes),
                    requestId: randomUUID(),
                    record,
                    pieces: o.postage.map((p) => piece({ postageCents: p })),
                  });
                  for (const i of r.indicia) {
                    expect(ascending.has(i.ascendingCents)).toBe(false);
                    ascending.add(i.ascendingCents);
                    expect(i.ascendingCents + i.descendingCents).toBe(credited);
                  }
                  record = r.record;
                } else if (o.kind === 'credit') {
                  record = (
                    await fx.boxes.meter.credit({
                      auth: await mailerAuth(fx.boxes),
                      requestId: randomUUID(),
                      record,
                      amountCents: o.amount,
                      credit: { kind: 'refund', pieceId: 'p' },
                    })
                  ).record;
                  credited += o.amount;
                } else {
                  const stale = history[history.length - 1 - o.back];
                  if (!stale) continue;
                  await fx.boxes.meter.dispense({
                    auth: await mailerAuth(fx.boxes),
                    requestId: randomUUID(),
                    record: stale,
                    pieces: [piece()],
                  });
                  throw new Error('a stale record was accepted');
                }
                history.push(record);
              } catch (error) {
                if (!(error instanceof BoxError)) throw error;
                refused = error;
              }
              if (refused) {
                const expected = o.kind === 'replay' ? 'FRESHNESS_MISMATCH' : 'INSUFFICIENT_FUNDS';
                expect(refused.code).toBe(expected);
                expect(await fx.boxes.meter.recover({ serial: record.serial })).toEqual(
                  journalBefore,
                );
                // A replay older than the journaled predecessor suspends the meter; an
                // administrator reinstates it before the sequence goes on.
                if (o.kind === 'replay') {
                  const { lifted } = await fx.boxes.meter.reinstate({
                    serial: record.serial,
                    reason: 'property test: replay seen',
                  });
                  expect(lifted?.code).toBe(
                    refused.details?.journaled === false ? 'FRESHNESS_MISMATCH' : undefined,
                  );
                }
              }
              expect(record.ascendingCents + record.descendingCents).toBe(record.creditedCents);
              expect(record.creditedCents).toBe(credited);
            }
          },
        ),
        { numRuns: 15 },
      );
    });
  });
});
