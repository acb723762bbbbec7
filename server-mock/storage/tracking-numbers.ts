/**
 * @module storage/tracking-numbers
 * Tracking numbers for the pieces a dispense commits (USPS Publication 199), assigned by the
 * storage from the serials it takes for the commit: one block for the pieces that have none.
 */
import { makeTrackingNumber } from '../../shared/tracking';
import type { PieceRow } from './storage';

/**
 * The pieces, each without a tracking number given one under `mailerId`; `take(n)` answers the
 * first of n serials taken for them (called once, and only when some piece needs one).
 */
export function withTrackingNumbers(
  pieces: PieceRow[],
  mailerId: string,
  take: (count: number) => number,
): PieceRow[] {
  const missing = pieces.filter((p) => !p.trackingNumber).length;
  if (missing === 0) return pieces;
  let next = take(missing);
  return pieces.map((p) =>
    p.trackingNumber
      ? p
      : { ...p, trackingNumber: makeTrackingNumber(p.mailClass, mailerId, next++, p.weightOz) },
  );
}
