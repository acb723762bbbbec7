/**
 * @module print/errors
 * Errors of the local print driver, with stable codes. Messages say what happened and what to do
 * next; they are shown to the mailer as they are.
 */
import type { ErrorCode } from '../../shared/errors';

export const PRINT_ERROR_CODES = {
  PRINT_UNKNOWN_MEDIUM: 'The medium id is not in the catalogue (client/print/media.ts).',
  PRINT_BAD_CALIBRATION: 'A calibration offset is not a number or is more than 20 mm.',
  PRINT_BAD_INDICIUM: 'A piece carries bytes that are not a version-1 indicium.',
  PRINT_ZIP_MISMATCH: "The recipient's ZIP differs from the destination ZIP in the indicium.",
  PRINT_BAD_ADDRESS: 'A recipient or return address misses a line it needs.',
  PRINT_BAD_TRACKING: 'A tracking number is not a USPS tracking number with a correct check digit.',
  PRINT_BAD_DPI: 'A thermal printer resolution other than 203 or 300 dpi was asked for.',
  PRINT_FORMAT_MEDIUM: 'ZPL was asked for a medium that is not a 4 × 6 label.',
  PRINT_NO_PIECES: 'A batch had no pieces, so there is nothing to print.',
  PRINT_SYSTEM_MISSING: 'The CUPS client programs (lp, lpstat, lpoptions) are not installed.',
  PRINT_PRINTER_NOT_FOUND: 'The printer queue does not exist on this computer.',
  PRINT_JOB_REFUSED: 'CUPS refused the job (queue stopped, not accepting, or bad options).',
  PRINT_JOB_NOT_FOUND: 'CUPS does not know the job id.',
  PRINT_UNSUPPORTED: 'This printer path is not available on this platform.',
} as const satisfies Partial<Record<ErrorCode, string>>;

export type PrintErrorCode = keyof typeof PRINT_ERROR_CODES;

export class PrintError extends Error {
  constructor(
    readonly code: PrintErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'PrintError';
  }
}
