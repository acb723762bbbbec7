/**
 * @module indicium/codec
 * The indicium's binary layout, version 1 (see docs/indicium-format.md): the data elements of
 * DESIGN.md ("The indicium") in fixed positions, big-endian, followed by the meter's ECDSA P-256
 * signature (r || s) over those payload bytes. The payload is the canonical form that is signed:
 * one set of fields has exactly one encoding, and decoding refuses anything else.
 */
import { MAIL_CLASSES, isMailClass, mailClassByCode, type MailClass } from '../mail-class';

export const INDICIUM_VERSION = 1;
export const ALG_ECDSA_P256_SHA256 = 1;
export const PAYLOAD_LENGTH = 82;
export const SIGNATURE_LENGTH = 64;
export const INDICIUM_LENGTH = PAYLOAD_LENGTH + SIGNATURE_LENGTH;

const FLAG_DEMO = 0x01;

export interface IndiciumFields {
  /** true for a demo sample (SAMPLE — NOT VALID POSTAGE). */
  demo: boolean;
  /** Rate category. */
  mailClass: MailClass;
  /** Serial of the meter's certificate, 16 lowercase hex digits. */
  certificateSerial: string;
  /** Device ID: the meter serial, 12 characters A–Z and 0–9. */
  deviceId: string;
  /** Ascending register after this piece, in cents. */
  ascendingCents: number;
  /** Postage of this piece, in cents. */
  postageCents: number;
  /** Date of mailing, YYYY-MM-DD. */
  mailingDate: string;
  /** Origin ZIP, 5 digits. */
  originZip: string;
  /** Destination ZIP, 5 or 9 digits. */
  destinationZip: string;
  /** Software ID of the meter box that made it, 4 characters A–Z and 0–9. */
  softwareId: string;
  /** Descending register after this piece, in cents. */
  descendingCents: number;
  /** Mail piece id, a UUID. */
  pieceId: string;
}

export interface DecodedIndicium {
  version: number;
  fields: IndiciumFields;
  /** The signed bytes. */
  payload: Uint8Array<ArrayBuffer>;
  /** ECDSA P-256 signature, r || s. */
  signature: Uint8Array<ArrayBuffer>;
}

export class IndiciumFormatError extends Error {
  readonly code = 'INDICIUM_MALFORMED';
  constructor(message: string) {
    super(message);
    this.name = 'IndiciumFormatError';
  }
}

const SERIAL = /^[0-9a-f]{16}$/;
const DEVICE = /^[A-Z0-9]{12}$/;
const SOFTWARE = /^[A-Z0-9]{4}$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ZIP5 = /^\d{5}$/;
const ZIPDEST = /^\d{5}(\d{4})?$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const MAX_REGISTER = Number.MAX_SAFE_INTEGER;

function fail(message: string): never {
  throw new IndiciumFormatError(`indicium: ${message}`);
}

function checkDate(text: string): number {
  const m = DATE.exec(text);
  if (!m) fail(`mailing date "${text}" is not YYYY-MM-DD`);
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // setUTCFullYear, not Date.UTC: Date.UTC maps years 0-99 to 1900-1999.
  const date = new Date(0);
  date.setUTCFullYear(y, mo - 1, d);
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d) {
    fail(`mailing date "${text}" is not a calendar date`);
  }
  return y * 10000 + mo * 100 + d;
}

function checkFields(f: IndiciumFields): void {
  if (!isMailClass(f.mailClass)) fail(`unknown mail class "${String(f.mailClass)}"`);
  if (!SERIAL.test(f.certificateSerial)) fail('certificate serial must be 16 hex digits');
  if (!DEVICE.test(f.deviceId)) fail('device ID must be 12 characters A-Z, 0-9');
  if (!SOFTWARE.test(f.softwareId)) fail('software ID must be 4 characters A-Z, 0-9');
  if (!ZIP5.test(f.originZip)) fail('origin ZIP must be 5 digits');
  if (!ZIPDEST.test(f.destinationZip)) fail('destination ZIP must be 5 or 9 digits');
  if (!UUID.test(f.pieceId)) fail('mail piece id must be a lowercase UUID');
  for (const [name, value] of [
    ['ascending register', f.ascendingCents],
    ['descending register', f.descendingCents],
  ] as const) {
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_REGISTER)
      fail(`${name} out of range`);
  }
  if (!Number.isSafeInteger(f.postageCents) || f.postageCents <= 0 || f.postageCents > 0xffffffff) {
    fail('postage must be a positive whole number of cents');
  }
  checkDate(f.mailingDate);
}

const ascii = (view: Uint8Array, at: number, text: string): void => {
  for (let i = 0; i < text.length; i++) view[at + i] = text.charCodeAt(i);
};

const readAscii = (bytes: Uint8Array, at: number, length: number): string =>
  String.fromCharCode(...bytes.subarray(at, at + length));

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));

function hex(bytes: Uint8Array): string {
  let text = '';
  for (const b of bytes) text += HEX[b] as string;
  return text;
}

/** Value of each lowercase hex digit by its character code; -1 for any other character. */
const HEX_VALUE = Int8Array.from({ length: 128 }, (_, c) =>
  c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1,
);

/** Writes the bytes of lowercase hex text (checked already) at `at`, skipping '-' separators. */
function hexInto(bytes: Uint8Array, at: number, text: string): void {
  let high = -1;
  for (let i = 0; i < text.length; i++) {
    const value = HEX_VALUE[text.charCodeAt(i)] ?? -1;
    if (value < 0) continue;
    if (high < 0) high = value;
    else {
      bytes[at++] = (high << 4) | value;
      high = -1;
    }
  }
}

/** Encodes the fields into the canonical payload (the bytes the meter signs). */
export function encodePayload(fields: IndiciumFields): Uint8Array<ArrayBuffer> {
  checkFields(fields);
  const bytes = new Uint8Array(PAYLOAD_LENGTH);
  const view = new DataView(bytes.buffer);
  view.setUint8(0, INDICIUM_VERSION);
  view.setUint8(1, ALG_ECDSA_P256_SHA256);
  view.setUint8(2, fields.demo ? FLAG_DEMO : 0);
  view.setUint8(3, MAIL_CLASSES[fields.mailClass].code);
  hexInto(bytes, 4, fields.certificateSerial);
  ascii(bytes, 12, fields.deviceId);
  view.setBigUint64(24, BigInt(fields.ascendingCents));
  view.setUint32(32, fields.postageCents);
  view.setUint32(36, checkDate(fields.mailingDate));
  ascii(bytes, 40, fields.originZip);
  ascii(bytes, 45, fields.destinationZip.padEnd(9, ' '));
  ascii(bytes, 54, fields.softwareId);
  view.setBigUint64(58, BigInt(fields.descendingCents));
  hexInto(bytes, 66, fields.pieceId);
  return bytes;
}

/**
 * A copy of an encoded payload with other register values: the bytes encodePayload gives for the
 * same fields with these ascending and descending registers (a meter box checks a piece's fields
 * once, then signs it with each register value it reaches).
 */
export function withRegisters(
  payload: Uint8Array,
  ascendingCents: number,
  descendingCents: number,
): Uint8Array<ArrayBuffer> {
  if (payload.length !== PAYLOAD_LENGTH) fail(`payload must be ${PAYLOAD_LENGTH} bytes`);
  for (const value of [ascendingCents, descendingCents])
    if (!Number.isSafeInteger(value) || value < 0 || value > MAX_REGISTER)
      fail('register out of range');
  const bytes = new Uint8Array(payload);
  const view = new DataView(bytes.buffer);
  view.setBigUint64(24, BigInt(ascendingCents));
  view.setBigUint64(58, BigInt(descendingCents));
  return bytes;
}

/** Joins a payload and its signature into the indicium's bytes. */
export function assembleIndicium(
  payload: Uint8Array,
  signature: Uint8Array,
): Uint8Array<ArrayBuffer> {
  if (payload.length !== PAYLOAD_LENGTH) fail(`payload must be ${PAYLOAD_LENGTH} bytes`);
  if (signature.length !== SIGNATURE_LENGTH) fail(`signature must be ${SIGNATURE_LENGTH} bytes`);
  const out = new Uint8Array(INDICIUM_LENGTH);
  out.set(payload, 0);
  out.set(signature, PAYLOAD_LENGTH);
  return out;
}

/** Decodes an indicium, refusing truncated, oversized, unknown-version or non-canonical input. */
export function decodeIndicium(bytes: Uint8Array): DecodedIndicium {
  if (bytes.length === 0) fail('no data');
  const version = bytes[0];
  if (version !== INDICIUM_VERSION)
    fail(`unknown version ${String(version)} (this reader knows version 1)`);
  if (bytes.length < INDICIUM_LENGTH)
    fail(`truncated: ${bytes.length} of ${INDICIUM_LENGTH} bytes`);
  if (bytes.length > INDICIUM_LENGTH)
    fail(`oversized: ${bytes.length} bytes, expected ${INDICIUM_LENGTH}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[1] !== ALG_ECDSA_P256_SHA256) fail(`unknown signature algorithm ${String(bytes[1])}`);
  const flags = view.getUint8(2);
  if ((flags & ~FLAG_DEMO) !== 0) fail(`unknown flags 0x${flags.toString(16)}`);
  const mailClass = mailClassByCode(view.getUint8(3));
  if (!mailClass) fail(`unknown rate category ${view.getUint8(3)}`);
  const big = (at: number): number => {
    const value = view.getBigUint64(at);
    if (value > BigInt(MAX_REGISTER)) fail('register out of range');
    return Number(value);
  };
  const date = view.getUint32(36);
  const dateText = `${String(Math.floor(date / 10000)).padStart(4, '0')}-${String(Math.floor(date / 100) % 100).padStart(2, '0')}-${String(date % 100).padStart(2, '0')}`;
  const destRaw = readAscii(bytes, 45, 9);
  const destinationZip = destRaw.endsWith('    ') ? destRaw.slice(0, 5) : destRaw;
  const id = hex(bytes.subarray(66, 82));
  const fields: IndiciumFields = {
    demo: (flags & FLAG_DEMO) !== 0,
    mailClass,
    certificateSerial: hex(bytes.subarray(4, 12)),
    deviceId: readAscii(bytes, 12, 12),
    ascendingCents: big(24),
    postageCents: view.getUint32(32),
    mailingDate: dateText,
    originZip: readAscii(bytes, 40, 5),
    destinationZip,
    softwareId: readAscii(bytes, 54, 4),
    descendingCents: big(58),
    pieceId: `${id.slice(0, 8)}-${id.slice(8, 12)}-${id.slice(12, 16)}-${id.slice(16, 20)}-${id.slice(20)}`,
  };
  checkFields(fields);
  const payload = bytes.slice(0, PAYLOAD_LENGTH);
  // Canonical: re-encoding must give the same bytes (refuses e.g. "1234 5678" ZIP padding tricks).
  const again = encodePayload(fields);
  if (!again.every((b, i) => b === payload[i])) fail('not in canonical form');
  return { version, fields, payload, signature: bytes.slice(PAYLOAD_LENGTH) };
}
