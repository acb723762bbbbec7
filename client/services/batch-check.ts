/**
 * @module services/batch-check
 * The checks of a batch that need the ZIP database, run on the whole list before anything is
 * charged: every address against its ZIP (client/address/address-check.ts; a row the mailer
 * confirmed with `accept_address` or `--accept-address` passes, and the override is kept with its
 * piece), and the postage of rows priced by zone. Every failing row is reported, each with its
 * suggestion, together with the rows batch-csv.ts refused.
 */
import { RateError } from '../../shared/rates/price';
import type { RateTable } from '../../shared/rates/rate-table';
import { checkAddress, describeCheck, type AddressOverride } from '../address/address-check';
import { quotePiece } from '../rates/compare';
import type { ZoneChart } from '../rates/zone-chart';
import { ZoneError } from '../rates/zones';
import type { BatchParse, BatchPiece } from './batch-csv';

export interface CheckedPiece extends BatchPiece {
  addressOverride?: AddressOverride;
}

export interface BatchCheckOptions {
  table: RateTable;
  /** The meter's origin ZIP, for zones. */
  originZip?: string;
  chart?: ZoneChart;
  /** The mailer confirmed every address as written (`vpm batch --accept-address`). */
  acceptAddresses?: boolean;
  now?: Date;
}

export async function checkBatch(
  parsed: BatchParse,
  options: BatchCheckOptions,
): Promise<BatchParse & { pieces: CheckedPiece[] }> {
  const errors = [...parsed.errors];
  const pieces: CheckedPiece[] = [];
  const at = (options.now ?? new Date()).toISOString();
  for (const piece of parsed.pieces) {
    const problems: string[] = [];
    const check = await checkAddress(piece.recipient);
    const accepted = !check.ok && (piece.acceptAddress || options.acceptAddresses);
    if (!check.ok && !accepted)
      problems.push(describeCheck(check, 'accept_address = yes in the row, or --accept-address'));
    let postageCents = piece.postageCents;
    if (piece.needsQuote && problems.length === 0) {
      try {
        const offer = await quotePiece(
          options.table,
          piece.mailClass,
          {
            weightOz: piece.weightOz ?? 1,
            ...(options.originZip ? { originZip: options.originZip } : {}),
            destinationZip: piece.recipient.zip,
          },
          options.chart,
        );
        postageCents = offer.postageCents;
      } catch (error) {
        if (!(error instanceof RateError || error instanceof ZoneError)) throw error;
        problems.push(error.message);
      }
    }
    if (problems.length > 0) {
      errors.push({ line: piece.line, message: problems.join('; ') });
      continue;
    }
    const { needsQuote: _done, ...rest } = piece;
    pieces.push({
      ...rest,
      recipient: check.normalized, // the address in USPS style, as checkAddress wrote it
      postageCents,
      ...(accepted ? { addressOverride: { accepted: true, problems: check.problems, at } } : {}),
    });
  }
  errors.sort((a, b) => a.line - b.line);
  return {
    pieces,
    errors,
    totalCents: pieces.reduce((sum, p) => sum + p.postageCents, 0),
  };
}
