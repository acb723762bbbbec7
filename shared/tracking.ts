/**
 * @module tracking
 * Tracking numbers the data center assigns to pieces under the vendor's USPS Mailer ID (MID):
 * for packages the Intelligent Mail package barcode's Package Identification Code (USPS
 * Publication 199: channel application identifier, service type code, MID, serial, USPS mod-10
 * check digit; 22 digits), for letters and flats the Intelligent Mail barcode's 20-digit tracking
 * code (barcode ID, service type ID, MID, serial). Pure functions, so the data center that makes
 * them, the print driver that draws them and the tests that decode them agree.
 */
import type { MailClass } from './mail-class';

export class TrackingError extends Error {
  readonly code = 'BAD_TRACKING';
  constructor(message: string) {
    super(message);
    this.name = 'TrackingError';
  }
}

/** A Mailer ID is 6 or 9 digits; 9-digit MIDs begin with 9, 6-digit ones do not. */
export const MAILER_ID_PATTERN = '^(9[0-9]{8}|[0-8][0-9]{5})$';

export function isMailerId(text: string): boolean {
  return new RegExp(MAILER_ID_PATTERN).test(text);
}

/**
 * IMpb service type codes (3 digits) of the package classes with USPS Tracking and no other extra
 * service, from USPS "Service Type Codes for Intelligent Mail Package Barcode (IMpb), Appendix I"
 * (postalpro.usps.com/IMPB_Service_Type_Codes, effective 2026-06-24; docs/labels.md says where it
 * was read): 055 "Priority Mail: USPS Tracking", 701 "Priority Mail Express: Post Office-Addressee
 * Signature Waived", 001 "USPS Ground Advantage: Up to 15.999oz USPS Tracking", 346 "USPS Ground
 * Advantage: One Pound or More USPS Tracking", 490 "Media Mail: USPS Tracking". Classes not listed
 * are letters and flats: they get an Intelligent Mail barcode tracking code instead.
 */
export const IMPB_SERVICE_TYPES: Readonly<Record<string, string>> = {
  priority: '055',
  'priority-express': '701',
  'ground-advantage': '001',
  'media-mail': '490',
};

/** USPS Ground Advantage has its own code from one pound up (Appendix I: 346). */
export const GROUND_ADVANTAGE_ONE_POUND_OR_MORE = '346';

/** The service type code of a package class; USPS Ground Advantage depends on the weight. */
export function impbServiceType(
  mailClass: MailClass | string,
  weightOz?: number,
): string | undefined {
  if (mailClass === 'ground-advantage' && weightOz !== undefined && weightOz >= 16)
    return GROUND_ADVANTAGE_ONE_POUND_OR_MORE;
  return IMPB_SERVICE_TYPES[mailClass];
}

/**
 * IMb service type IDs of the letter classes, from the USPS Service Type Identifier table
 * (postalpro.usps.com/mailing/service-type-identifiers): 300 First-Class Mail and 301 USPS
 * Marketing Mail, basic/nonautomation, no IV MTR, no address correction, no printed endorsement.
 */
export const IMB_SERVICE_TYPES: Readonly<Record<string, string>> = {
  'first-class': '300',
  'first-class-flat': '300',
  'marketing-mail': '301',
};

/** True for a class that is shipped with an IMpb label (a package class). */
export function isPackageClass(mailClass: MailClass | string): boolean {
  return Object.hasOwn(IMPB_SERVICE_TYPES, mailClass);
}

/** The USPS mod-10 check digit of a string of digits (weights 3, 1, 3 … from the right). */
export function mod10CheckDigit(digits: string): string {
  if (!/^[0-9]+$/.test(digits)) throw new TrackingError(`tracking: "${digits}" is not digits`);
  let sum = 0;
  for (let i = digits.length - 1, w = 3; i >= 0; i--, w = 4 - w) sum += w * Number(digits[i]);
  return String((10 - (sum % 10)) % 10);
}

/** Serial digits available in a tracking number for a MID of this length. */
export function serialDigits(mailerId: string, kind: 'impb' | 'imb'): number {
  if (!isMailerId(mailerId)) {
    throw new TrackingError(
      `tracking: Mailer ID "${mailerId}" must be 6 digits, or 9 starting with 9`,
    );
  }
  // IMpb: 2 (channel) + 3 (STC) + MID + serial + 1 (check) = 22; IMb: 2 + 3 + MID + serial = 20.
  return kind === 'impb' ? 16 - mailerId.length : 15 - mailerId.length;
}

/**
 * The channel application identifier of a label a vendor or meter issues (Publication 199's
 * "N" constructs): 94, with a 9-digit MID (7-digit serial) or a 6-digit one (10-digit serial).
 * 92 and 93 are a commercial mailer's own labels, 95 USPS retail.
 */
export const IMPB_CHANNEL = '94';

/**
 * The tracking number of a piece: `serial` is the data center's running number for this MID
 * (taken modulo the serial's digits, so it wraps after as many pieces as the MID can number);
 * `weightOz`, when known, picks USPS Ground Advantage's service type (under or from one pound).
 */
export function makeTrackingNumber(
  mailClass: MailClass | string,
  mailerId: string,
  serial: number,
  weightOz?: number,
): string {
  if (!Number.isSafeInteger(serial) || serial < 0) {
    throw new TrackingError(`tracking: serial ${String(serial)} must be a whole number ≥ 0`);
  }
  const stc = impbServiceType(mailClass, weightOz);
  if (stc !== undefined) {
    const n = serialDigits(mailerId, 'impb');
    const body = IMPB_CHANNEL + stc + mailerId + String(serial % 10 ** n).padStart(n, '0');
    return body + mod10CheckDigit(body);
  }
  const stid = IMB_SERVICE_TYPES[mailClass];
  if (stid === undefined)
    throw new TrackingError(`tracking: no service type for class "${mailClass}"`);
  const n = serialDigits(mailerId, 'imb');
  return '00' + stid + mailerId + String(serial % 10 ** n).padStart(n, '0');
}

/** An IMpb Package Identification Code: 22 digits (or 26/30/34), 9x…, correct check digit. */
export function isImpbTrackingNumber(text: string): boolean {
  return (
    /^9[1-5][0-9]{20}([0-9]{4}){0,3}$/.test(text) &&
    mod10CheckDigit(text.slice(0, -1)) === text.slice(-1)
  );
}

/** An IMb tracking code: 20 digits, the second digit 0–4. */
export function isImbTrackingCode(text: string): boolean {
  return /^[0-9][0-4][0-9]{18}$/.test(text);
}

/** The tracking number as USPS prints it under the barcode: groups of four digits. */
export function formatTrackingNumber(text: string): string {
  return text.replace(/(.{4})(?=.)/g, '$1 ');
}
