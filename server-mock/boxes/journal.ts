/**
 * @module boxes/journal
 * The meter box's per-meter journal (patent Fig. 4, kept in the NVM with the freshness entry):
 * the last command's outcome, which the data center stores if it crashed before its COMMIT.
 * Entries are the JournalEntry union; this reads entries an older box wrote, where a credit named
 * what it was for by a prefixed string (`reference: "refund:<piece>"`) and every kind carried an
 * `indicia` list.
 */
import { parseCreditReference, type CreditFor, type JournalEntry } from './api';

/** A journal entry without what `issue` adds (the record and its predecessor's digest). */
export type JournalBody = JournalEntry extends infer E
  ? E extends JournalEntry
    ? Omit<E, 'record' | 'previousDigest'>
    : never
  : never;

type Stored = JournalEntry & { reference?: unknown; credit?: CreditFor; indicia?: unknown };

/** The journal entry as stored in the NVM, in the current form (old credits parsed). */
export function journalEntryOf(stored: JournalEntry | null | undefined): JournalEntry | null {
  if (!stored) return null;
  const entry = stored as Stored;
  const { requestId, previousDigest, record } = entry;
  switch (entry.kind) {
    case 'dispense':
      return entry;
    case 'credit': {
      const credit =
        entry.credit ??
        parseCreditReference(typeof entry.reference === 'string' ? entry.reference : '');
      return {
        kind: 'credit',
        requestId,
        previousDigest,
        record,
        amountCents: entry.amountCents ?? 0,
        credit,
      };
    }
    case 'remac':
      return { kind: 'remac', requestId, previousDigest, record };
    default:
      return entry satisfies never;
  }
}
