/**
 * @module storage/tracking-numbers
 * Tracking numbers for the pieces a dispense commits (USPS Publication 199), assigned from the
 * serials the storage takes for them: one call for the pieces that have none.
 */
import { makeTrackingNumber } from '../../shared/tracking';
import type { PieceRow, Storage } from './storage';

/**
 * The pieces, each without a tracking number given one under `mailerId`, from serials `storage`
 * takes for them in one call (none when every piece has a number).
 */
export async function withAllocatedTrackingNumbers(
  storage: Pick<Storage, 'allocateTrackingSerials'>,
  pieces: PieceRow[],
  mailerId: string,
): Promise<PieceRow[]> {
  const missing = pieces.filter((p) => !p.trackingNumber).length;
  if (missing === 0) return pieces;
  return withTrackingNumbers(pieces, mailerId, await storage.allocateTrackingSerials(missing));
}

/**
 * The pieces, each without a tracking number given one under `mailerId` from `serials`, in
 * order (one serial for each piece that has no number).
 */
export function withTrackingNumbers(
  pieces: PieceRow[],
  mailerId: string,
  serials: readonly number[],
): PieceRow[] {
  let next = 0;
  return pieces.map((p) => {
    if (p.trackingNumber) return p;
    const serial = serials[next++];
    if (serial === undefined)
      throw new Error('tracking: fewer serials than pieces without a number');
    return { ...p, trackingNumber: makeTrackingNumber(p.mailClass, mailerId, serial, p.weightOz) };
  });
}
