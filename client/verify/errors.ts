/**
 * @module verify/errors
 * Errors of the verifier that stop it before a verdict (missing file, unusable certificate
 * bundle, missing rasterizer), with stable codes. A scan without a readable symbol is not an
 * error: it is the verdict "unreadable".
 */
import type { ErrorCode } from '../../shared/errors';

export const VERIFY_ERROR_CODES = {
  VERIFY_FILE_MISSING: 'The scan file does not exist or cannot be read.',
  VERIFY_UNSUPPORTED_FILE: 'The scan is not a PNG, JPEG or PDF file.',
  VERIFY_RASTERIZER_MISSING: 'pdftoppm (poppler-utils) is not installed, so PDFs cannot be read.',
  VERIFY_RASTERIZE_FAILED: 'pdftoppm could not turn the PDF into an image.',
  VERIFY_SCAN_TOO_LARGE:
    'The scan (file, image or PDF page) is larger than a piece of mail, so it is not read.',
  VERIFY_BAD_BUNDLE: 'The offline certificate bundle is missing, not JSON, or not in the format.',
} as const satisfies Partial<Record<ErrorCode, string>>;

export type VerifyErrorCode = keyof typeof VERIFY_ERROR_CODES;

export class VerifyError extends Error {
  constructor(
    readonly code: VerifyErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'VerifyError';
  }
}
