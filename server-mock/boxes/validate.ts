/**
 * @module boxes/validate
 * The "check" half of check-then-work for every box command (patent Fig. 4 step 200: the box
 * receives a record it does not trust). Each command's arguments pass here, in one place, before
 * the box does anything; anything malformed is BAD_REQUEST. MAC, freshness and funds are the
 * work half's business (they need the box's keys and NVM).
 */
import { isMailClass } from '../../shared/mail-class';
import { encodePayload } from '../../shared/indicium/codec';
import { BoxError, type CreditFor, type MeterRecord, type PieceRequest } from './api';
import { fromBase64 } from './crypto-kit';
import { MAC_FIELDS } from './record-mac';

export const MAX_PIECES_PER_COMMAND = 1000;
/** Software ID the meter box writes into every indicium. */
export const METER_SOFTWARE_ID = 'VPM1';
export const SERIAL_PATTERN = /^[A-Z0-9]{12}$/;

export function bad(message: string): never {
  throw new BoxError('BAD_REQUEST', message);
}

export function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    bad(`${what}: not an object`);
  return value as Record<string, unknown>;
}

/** Refuses keys other than `allowed` (and missing required ones). */
export function exactKeys(
  value: Record<string, unknown>,
  what: string,
  required: readonly string[],
  optional: readonly string[] = [],
): void {
  for (const key of Object.keys(value)) {
    if (!required.includes(key) && !optional.includes(key))
      bad(`${what}: unexpected field "${key}"`);
  }
  for (const key of required) if (!(key in value)) bad(`${what}: missing field "${key}"`);
}

export function text(value: unknown, what: string, max: number, pattern?: RegExp): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max) {
    bad(`${what}: must be a string of 1–${max} characters`);
  }
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(value)) bad(`${what}: control characters are not allowed`);
  if (pattern && !pattern.test(value)) bad(`${what}: malformed`);
  return value;
}

export function integer(
  value: unknown,
  what: string,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    bad(`${what}: must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function bool(value: unknown, what: string): boolean {
  if (typeof value !== 'boolean') bad(`${what}: must be true or false`);
  return value;
}

export function base64(
  value: unknown,
  what: string,
  maxChars: number,
  exactBytes?: number,
): Buffer {
  if (typeof value !== 'string' || value.length > maxChars)
    bad(`${what}: must be base64 of at most ${maxChars} characters`);
  const bytes = fromBase64(value);
  if (!bytes || bytes.length === 0) bad(`${what}: not canonical base64`);
  if (exactBytes !== undefined && bytes.length !== exactBytes)
    bad(`${what}: must be ${exactBytes} bytes`);
  return bytes;
}

/** A record's fields: those its MAC covers, and the MAC. */
const RECORD_FIELDS = [...MAC_FIELDS, 'mac'] as const;

/** Shape of a meter record (not its MAC). */
export function meterRecord(value: unknown): MeterRecord {
  const r = object(value, 'record');
  exactKeys(r, 'record', RECORD_FIELDS);
  text(r.serial, 'record.serial', 12, SERIAL_PATTERN);
  text(r.accountId, 'record.accountId', 128);
  if (r.status !== 'active' && r.status !== 'suspended')
    bad('record.status: must be active or suspended');
  bool(r.demo, 'record.demo');
  integer(r.ascendingCents, 'record.ascendingCents', 0);
  integer(r.descendingCents, 'record.descendingCents', 0);
  integer(r.creditedCents, 'record.creditedCents', 0);
  integer(r.counter, 'record.counter', 0);
  base64(r.wrappedKey, 'record.wrappedKey', 1024);
  text(r.certificateSerial, 'record.certificateSerial', 16, /^[0-9a-f]{16}$/);
  integer(r.keyVersion, 'record.keyVersion', 1, 0x7fffffff);
  text(r.macPeriod, 'record.macPeriod', 7, /^\d{4}-(0[1-9]|1[0-2])$/);
  base64(r.mac, 'record.mac', 44, 32);
  return r as unknown as MeterRecord;
}

/** What a credit is for: `{ kind: 'refill', refillId }` or `{ kind: 'refund', pieceId }`. */
export function creditFor(value: unknown): CreditFor {
  const c = object(value, 'credit');
  switch (c.kind) {
    case 'refill':
      exactKeys(c, 'credit', ['kind', 'refillId']);
      return { kind: 'refill', refillId: text(c.refillId, 'credit.refillId', 200) };
    case 'refund':
      exactKeys(c, 'credit', ['kind', 'pieceId']);
      return { kind: 'refund', pieceId: text(c.pieceId, 'credit.pieceId', 200) };
    default:
      return bad('credit.kind: must be refill or refund');
  }
}

const PIECE_FIELDS = [
  'pieceId',
  'postageCents',
  'mailClass',
  'originZip',
  'destinationZip',
  'mailingDate',
] as const;

/**
 * Shape of the pieces of one dispense: the indicium codec's own rules, checked up front. Gives
 * each piece's encoded payload with registers 0 (the meter box sets them: withRegisters).
 */
export function pieces(
  value: unknown,
  record: MeterRecord,
): { pieces: PieceRequest[]; payloads: Uint8Array[] } {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_PIECES_PER_COMMAND) {
    bad(`pieces: must be a list of 1–${MAX_PIECES_PER_COMMAND} pieces`);
  }
  const seen = new Set<string>();
  const payloads: Uint8Array[] = [];
  const list = value.map((item, i) => {
    const p = object(item, `pieces[${i}]`);
    exactKeys(p, `pieces[${i}]`, PIECE_FIELDS);
    integer(p.postageCents, `pieces[${i}].postageCents`, 1, 0xffffffff);
    if (typeof p.mailClass !== 'string' || !isMailClass(p.mailClass))
      bad(`pieces[${i}].mailClass: unknown mail class`);
    const pieceId = text(p.pieceId, `pieces[${i}].pieceId`, 36);
    if (seen.has(pieceId)) bad(`pieces[${i}].pieceId: appears twice in one command`);
    seen.add(pieceId);
    const piece = p as unknown as PieceRequest;
    let payload: Uint8Array | undefined;
    try {
      payload = encodePayload({
        demo: record.demo,
        mailClass: piece.mailClass,
        certificateSerial: record.certificateSerial,
        deviceId: record.serial,
        ascendingCents: 0,
        postageCents: piece.postageCents,
        mailingDate: String(piece.mailingDate),
        originZip: String(piece.originZip),
        destinationZip: String(piece.destinationZip),
        softwareId: METER_SOFTWARE_ID,
        descendingCents: 0,
        pieceId,
      });
    } catch (error) {
      bad(`pieces[${i}]: ${error instanceof Error ? error.message : String(error)}`);
    }
    for (const field of ['originZip', 'destinationZip', 'mailingDate'] as const) {
      if (typeof p[field] !== 'string') bad(`pieces[${i}].${field}: must be a string`);
    }
    payloads.push(payload as Uint8Array);
    return piece;
  });
  return { pieces: list, payloads };
}
