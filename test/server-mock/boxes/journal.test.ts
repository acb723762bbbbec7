/**
 * The meter box's journal is a union by kind; entries an older box wrote (a credit named by a
 * prefixed `reference` string, every kind with an `indicia` list) read as the same union.
 */
import { describe, expect, it } from 'vitest';
import type { JournalEntry, MeterRecord } from '../../../server-mock/boxes/api';
import { creditReference, parseCreditReference } from '../../../server-mock/boxes/api';
import { journalEntryOf } from '../../../server-mock/boxes/journal';

const record = { serial: 'VPM000000001', counter: 3 } as MeterRecord;
const base = { requestId: 'r1', previousDigest: 'd0', record };
const old = (fields: Record<string, unknown>) =>
  ({ ...base, ...fields }) as unknown as JournalEntry;

describe('journalEntryOf()', () => {
  it('reads an old credit entry naming a refund by its "refund:" reference', () => {
    expect(
      journalEntryOf(
        old({ kind: 'credit', indicia: [], amountCents: 750, reference: 'refund:p-1' }),
      ),
    ).toEqual({
      ...base,
      kind: 'credit',
      amountCents: 750,
      credit: { kind: 'refund', pieceId: 'p-1' },
    });
  });

  it('reads an old credit entry with a "refill:" or a bare reference as a refill', () => {
    for (const [reference, refillId] of [
      ['refill:abc', 'abc'],
      ['abc', 'abc'],
    ])
      expect(
        journalEntryOf(old({ kind: 'credit', indicia: [], amountCents: 5, reference })),
      ).toMatchObject({ kind: 'credit', credit: { kind: 'refill', refillId } });
  });

  it('drops the empty indicia list an old remac entry carried', () => {
    expect(journalEntryOf(old({ kind: 'remac', indicia: [] }))).toEqual({ ...base, kind: 'remac' });
  });

  it('keeps a current entry as it is, and an absent one as null', () => {
    const credit: JournalEntry = {
      ...base,
      kind: 'credit',
      amountCents: 5,
      credit: { kind: 'refill', refillId: 'x' },
    };
    expect(journalEntryOf(credit)).toEqual(credit);
    const dispense: JournalEntry = { ...base, kind: 'dispense', indicia: [] };
    expect(journalEntryOf(dispense)).toBe(dispense);
    expect(journalEntryOf(null)).toBeNull();
  });
});

describe('creditReference()', () => {
  it('is the inverse of the old form parser', () => {
    for (const credit of [
      { kind: 'refill', refillId: 'a:b' },
      { kind: 'refund', pieceId: 'p-9' },
    ] as const)
      expect(parseCreditReference(creditReference(credit))).toEqual(credit);
  });
});
