/**
 * @module function/tracking
 * Tracking numbers for the pieces a dispense stores (USPS Publication 199): the vendor's Mailer
 * ID from the data center's configuration, the class's service type, and a serial the database
 * hands out once across every node (Storage.allocateTrackingSerials). Packages get an IMpb
 * number with its mod-10 check digit, letters the IMb tracking code.
 */
import { isMailerId, makeTrackingNumber } from '../../shared/tracking';
import type { PieceRow, Storage } from '../storage/storage';

/**
 * The Mailer ID used when the data center is not given one: a 9-digit placeholder for
 * development and the offline demo. A vendor sets its own USPS-assigned MID (`--mailer-id`).
 */
export const DEFAULT_MAILER_ID = '900000000';

export function checkMailerId(mid: string): string {
  if (!isMailerId(mid))
    throw new Error(
      `mailer ID "${mid}": a USPS Mailer ID is 6 digits, or 9 digits starting with 9; use the one USPS assigned`,
    );
  return mid;
}

/** The rows with tracking numbers assigned (serials taken for all of them at once). */
export async function withTracking(
  storage: Storage,
  mailerId: string,
  rows: PieceRow[],
): Promise<PieceRow[]> {
  if (rows.length === 0) return rows;
  const serials = await storage.allocateTrackingSerials(rows.length);
  return rows.map((row, i) => ({
    ...row,
    trackingNumber: makeTrackingNumber(row.mailClass, mailerId, serials[i] as number),
  }));
}
