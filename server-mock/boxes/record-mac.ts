/**
 * @module boxes/record-mac
 * The meter record's MAC and the key derivations around it (patent: meter record 64, signed by
 * the meter box, Fig. 4 steps 205–210 and 260). The MAC is HMAC-SHA-256 under a per-meter key
 * HKDF(record master, serial, key period "YYYY-MM"). Periods rotate monthly: new MACs use the
 * current period, MACs of the last MAC_PERIOD_WINDOW periods still verify. The token key is
 * wrapped under HKDF(wrap master, serial). These functions are pure so that the known-answer
 * vectors in test/fixtures/boxes/ can pin them.
 */
import type { MeterRecord } from './api';
import { aesGcmOpen, aesGcmSeal, hkdf, hmacSha256, sha256 } from './crypto-kit';

/** How many monthly key periods a record MAC stays verifiable (the current one included). */
export const MAC_PERIOD_WINDOW = 24;

const RECORD_MAC_SALT = 'vpm-record-mac-v1';
const TOKEN_WRAP_SALT = 'vpm-token-wrap-v1';

/** The fields the MAC covers (every field but `mac`), in the order of its input. */
export const MAC_FIELDS = [
  'serial',
  'accountId',
  'status',
  'demo',
  'ascendingCents',
  'descendingCents',
  'creditedCents',
  'counter',
  'wrappedKey',
  'certificateSerial',
  'keyVersion',
  'macPeriod',
] as const satisfies readonly (keyof Omit<MeterRecord, 'mac'>)[];

/** The canonical bytes the MAC covers: every field but `mac`, in a fixed order. */
export function recordMacInput(record: Omit<MeterRecord, 'mac'>): Buffer {
  const fields = MAC_FIELDS.map((k) => record[k]);
  return Buffer.from(`vpm-meter-record-v1\n${JSON.stringify(fields)}`, 'utf8');
}

/** Two records the same in every field the MAC covers and in the MAC itself. */
export function sameRecord(a: MeterRecord, b: MeterRecord): boolean {
  return a.mac === b.mac && MAC_FIELDS.every((k) => a[k] === b[k]);
}

/** Per-meter, per-period MAC key. */
export function recordMacKey(recordMaster: Uint8Array, serial: string, period: string): Buffer {
  return hkdf(recordMaster, RECORD_MAC_SALT, `${serial}|${period}`);
}

/** MAC of a record under the key of its own `macPeriod`, base64. */
export function computeRecordMac(
  recordMaster: Uint8Array,
  record: Omit<MeterRecord, 'mac'>,
): string {
  const key = recordMacKey(recordMaster, record.serial, record.macPeriod);
  return hmacSha256(key, recordMacInput(record)).toString('base64');
}

/** Returns the record with `macPeriod` set to `period` and a fresh MAC. */
export function macRecord(
  recordMaster: Uint8Array,
  record: Omit<MeterRecord, 'mac' | 'macPeriod'>,
  period: string,
): MeterRecord {
  return macRecordWithKey(recordMacKey(recordMaster, record.serial, period), record, period);
}

/** macRecord with the period's MAC key already derived (the meter box keeps them). */
export function macRecordWithKey(
  key: Uint8Array,
  record: Omit<MeterRecord, 'mac' | 'macPeriod'>,
  period: string,
): MeterRecord {
  return macRecordAndDigest(key, record, period).record;
}

/**
 * macRecordWithKey and the new record's recordDigest, from one build of its MAC input (the
 * meter box needs both for every record it issues).
 */
export function macRecordAndDigest(
  key: Uint8Array,
  record: Omit<MeterRecord, 'mac' | 'macPeriod'>,
  period: string,
): { record: MeterRecord; digest: string } {
  const made: MeterRecord = {
    serial: record.serial,
    accountId: record.accountId,
    status: record.status,
    demo: record.demo,
    ascendingCents: record.ascendingCents,
    descendingCents: record.descendingCents,
    creditedCents: record.creditedCents,
    counter: record.counter,
    wrappedKey: record.wrappedKey,
    certificateSerial: record.certificateSerial,
    keyVersion: record.keyVersion,
    macPeriod: period,
    mac: '',
  };
  const input = recordMacInput(made);
  made.mac = hmacSha256(key, input).toString('base64');
  return { record: made, digest: digestOfInput(input, made.mac) };
}

/** Digest of a whole record (MAC included): the freshness digest the meter box keeps. */
export function recordDigest(record: MeterRecord): string {
  return digestOfInput(recordMacInput(record), record.mac);
}

/**
 * recordDigest from the record's MAC input (recordMacInput) and its MAC, for a caller that has
 * built the input already to check the MAC.
 */
export function digestOfInput(input: Uint8Array, mac: string): string {
  return sha256(input, `\n${mac}`).toString('hex');
}

/** Key that wraps a meter's token private key for the meter box. */
export function tokenWrapKey(wrapMaster: Uint8Array, serial: string): Buffer {
  return hkdf(wrapMaster, TOKEN_WRAP_SALT, serial);
}

const wrapAad = (serial: string, keyVersion: number): string =>
  `vpm-token-key|${serial}|${keyVersion}`;

/** Wraps a PKCS#8 private key: base64 of iv || ciphertext || tag. */
export function wrapTokenKey(
  wrapMaster: Uint8Array,
  serial: string,
  keyVersion: number,
  pkcs8: Uint8Array,
  iv?: Uint8Array,
): string {
  const key = tokenWrapKey(wrapMaster, serial);
  return aesGcmSeal(key, pkcs8, wrapAad(serial, keyVersion), iv).toString('base64');
}

/** Unwraps a token key; undefined when it was not wrapped for this serial and key version. */
export function unwrapTokenKey(
  wrapMaster: Uint8Array,
  serial: string,
  keyVersion: number,
  wrapped: Uint8Array,
): Buffer | undefined {
  return aesGcmOpen(tokenWrapKey(wrapMaster, serial), wrapped, wrapAad(serial, keyVersion));
}

/** "YYYY-MM" of a time, in UTC. */
export function periodOf(time: Date): string {
  return `${String(time.getUTCFullYear()).padStart(4, '0')}-${String(time.getUTCMonth() + 1).padStart(2, '0')}`;
}

const PERIOD = /^(\d{4})-(0[1-9]|1[0-2])$/;

/** Months from `older` to `newer` (negative if `older` is later); undefined if malformed. */
export function periodDistance(older: string, newer: string): number | undefined {
  const a = PERIOD.exec(older);
  const b = PERIOD.exec(newer);
  if (!a || !b) return undefined;
  return (Number(b[1]) - Number(a[1])) * 12 + (Number(b[2]) - Number(a[2]));
}

/** Whether a record MACed in `period` may still be verified at `current`. */
export function periodAccepted(period: string, current: string): boolean {
  const distance = periodDistance(period, current);
  return distance !== undefined && distance >= 0 && distance < MAC_PERIOD_WINDOW;
}
