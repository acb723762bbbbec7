/**
 * @module zip
 * US ZIP codes: origin ZIPs are five digits; destinations are ZIP or ZIP+4.
 */

export class ZipError extends Error {
  readonly code = 'BAD_ZIP';
  constructor(message: string) {
    super(message);
    this.name = 'ZipError';
  }
}

/** Pattern (JSON Schema compatible) for a five-digit ZIP. */
export const ZIP5_PATTERN = '^[0-9]{5}$';
/** Pattern for a destination ZIP: five digits, or ZIP+4 written 12345-6789 or 123456789. */
export const ZIP_DEST_PATTERN = '^[0-9]{5}(-?[0-9]{4})?$';

/** Normalizes a destination ZIP to 5 or 9 digits without the hyphen. */
export function normalizeZip(text: string): string {
  const trimmed = text.trim();
  if (!new RegExp(ZIP_DEST_PATTERN).test(trimmed)) {
    throw new ZipError(`ZIP "${text}": write 5 digits (12345) or ZIP+4 (12345-6789)`);
  }
  return trimmed.replace('-', '');
}

/** Formats 9 digits as 12345-6789; 5 digits stay as they are. */
export function formatZip(zip: string): string {
  return zip.length === 9 ? `${zip.slice(0, 5)}-${zip.slice(5)}` : zip;
}
