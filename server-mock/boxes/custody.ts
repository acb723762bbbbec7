/**
 * @module boxes/custody
 * Key custody (DESIGN.md "Custody"; patent part 38, the key management system): the data
 * center's domain key never rests anywhere whole. The key ceremony splits it k-of-n among
 * custodians with Shamir secret sharing (the audited `shamir-secret-sharing` package); a start
 * needs a quorum of their shares. DIR/boxes/custody.json holds only public facts: the data
 * center's id, k and n, and a key check value (an HMAC under a key derived from the domain key,
 * never a plain hash of it) that proves shares combined into the right key.
 *
 * A share is one text line:
 *   vpm-share-v1.<data center id>.<custodian index>.<k>.<n>.<share, base64url>.<check>
 * where check is the first 8 hex digits of SHA-256 over everything before it: it catches a
 * damaged share (a typo, a truncated file) and is the short check value printed at the ceremony.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { combine, split } from 'shamir-secret-sharing';
import type { ErrorCode } from '../../shared/errors';
import { hkdf, hmacSha256, sameBytes, sha256 } from './crypto-kit';

export const SHARE_TAG = 'vpm-share-v1';
export const CUSTODY_FILE = 'custody.json';
export const DOMAIN_KEY_BYTES = 32;
export const DEFAULT_CUSTODIANS = 3;
export const DEFAULT_QUORUM = 2;

/** What DIR/boxes/custody.json holds: public facts only. */
export interface CustodyInfo {
  v: 1;
  dataCenterId: string;
  custodians: number;
  quorum: number;
  /** base64 HMAC-SHA-256(HKDF(domain key, "vpm-key-check-v1"), "vpm key check|" + id). */
  keyCheck: string;
}

/** Each is in the product's closed table of codes (shared/errors.ts), with its advice. */
export const CUSTODY_ERROR_CODES = [
  'SHARES_INSUFFICIENT', // fewer valid shares than the quorum
  'SHARES_WRONG_KEY', // a quorum of well-formed shares that do not make this data center's key
  'CUSTODY_MISSING', // DIR/boxes/custody.json is missing or unreadable
  'CUSTODY_BAD_PARAMETERS', // custodians/quorum out of range at the ceremony
] as const satisfies readonly ErrorCode[];
export type CustodyErrorCode = (typeof CUSTODY_ERROR_CODES)[number];

/** A share the start refused, and why. */
export interface RejectedShare {
  /** Where it came from: a file name or "share 2" (its position). */
  source: string;
  reason: string;
}

export class CustodyError extends Error {
  constructor(
    readonly code: CustodyErrorCode,
    message: string,
    readonly details: { valid?: number; needed?: number; rejected?: RejectedShare[] } = {},
  ) {
    super(message);
    this.name = 'CustodyError';
  }
}

/** Checks k-of-n before a ceremony (the Shamir library needs 2 ≤ k ≤ n ≤ 255). */
export function checkQuorum(custodians: number, quorum: number): void {
  if (!Number.isInteger(custodians) || custodians < 2 || custodians > 255)
    throw new CustodyError(
      'CUSTODY_BAD_PARAMETERS',
      `custodians: ${String(custodians)} is not a whole number from 2 to 255`,
    );
  if (!Number.isInteger(quorum) || quorum < 2 || quorum > custodians)
    throw new CustodyError(
      'CUSTODY_BAD_PARAMETERS',
      `quorum: ${String(quorum)} must be a whole number from 2 to the number of custodians (${custodians})`,
    );
}

/** The key check value of a domain key for one data center. */
export function keyCheckValue(domainKey: Uint8Array, dataCenterId: string): Buffer {
  const checkKey = hkdf(domainKey, 'vpm-key-check-v1', dataCenterId);
  const value = hmacSha256(checkKey, `vpm key check|${dataCenterId}`);
  checkKey.fill(0);
  return value;
}

const checksum = (body: string): string => sha256(body).toString('hex').slice(0, 8);

/** The short check value a custodian reads aloud, e.g. "3F2A-91C0". */
export function shareCheckValue(line: string): string {
  const check = line.trim().split('.').pop() ?? '';
  return `${check.slice(0, 4)}-${check.slice(4)}`.toUpperCase();
}

/** Splits the domain key into n share lines, any k of which rebuild it. */
export async function splitDomainKey(
  domainKey: Uint8Array,
  info: Pick<CustodyInfo, 'dataCenterId' | 'custodians' | 'quorum'>,
): Promise<string[]> {
  checkQuorum(info.custodians, info.quorum);
  // A plain Uint8Array of this realm: the library checks `instanceof Uint8Array`.
  const secret = new Uint8Array(domainKey);
  const parts = await split(secret, info.custodians, info.quorum).finally(() => secret.fill(0));
  return parts.map((part, i) => {
    const body = [
      SHARE_TAG,
      info.dataCenterId,
      String(i + 1),
      String(info.quorum),
      String(info.custodians),
      Buffer.from(part).toString('base64url'),
    ].join('.');
    part.fill(0);
    return `${body}.${checksum(body)}`;
  });
}

interface ParsedShare {
  index: number;
  bytes: Buffer;
}

/** Parses one share line against this data center's custody facts; a reason string if refused. */
function parseShare(line: string, custody: CustodyInfo): ParsedShare | string {
  const text = line.trim();
  const fields = text.split('.');
  if (fields[0] !== SHARE_TAG)
    return fields[0]?.startsWith('vpm-share-')
      ? `unknown share format "${fields[0]}"`
      : 'not a vpm custodian share';
  if (fields.length !== 7) return 'damaged (wrong number of fields)';
  const [, dcId, index, k, n, data, check] = fields as [string, ...string[]] as string[];
  if (checksum(fields.slice(0, 6).join('.')) !== check)
    return 'damaged (its checksum does not match its content)';
  if (dcId !== custody.dataCenterId)
    return `from another data center (${String(dcId)}, this one is ${custody.dataCenterId})`;
  if (Number(k) !== custody.quorum || Number(n) !== custody.custodians)
    return `from another key ceremony (${String(k)} of ${String(n)}, this data center needs ${custody.quorum} of ${custody.custodians})`;
  const bytes = Buffer.from(data ?? '', 'base64url');
  if (bytes.length !== DOMAIN_KEY_BYTES + 1 || bytes.toString('base64url') !== data)
    return 'damaged (share bytes have the wrong length)';
  const i = Number(index);
  if (!Number.isInteger(i) || i < 1 || i > custody.custodians)
    return `damaged (custodian index ${String(index)})`;
  return { index: i, bytes };
}

/** Reads DIR/boxes/custody.json. */
export function readCustody(dataDir: string): CustodyInfo {
  const path = join(dataDir, 'boxes', CUSTODY_FILE);
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as CustodyInfo;
    if (info.v !== 1 || typeof info.dataCenterId !== 'string' || typeof info.keyCheck !== 'string')
      throw new Error('unknown content');
    return info;
  } catch (error) {
    throw new CustodyError(
      'CUSTODY_MISSING',
      `custody: cannot read ${path} (${error instanceof Error ? error.message : String(error)}); is this an initialised data directory?`,
    );
  }
}

/**
 * Combines a quorum of shares into the domain key and checks it against custody.json. The caller
 * owns the returned buffer and must zero it as soon as it has handed it on. Refuses with a
 * CustodyError saying how many valid shares were given, how many are needed, and which were
 * rejected and why.
 */
export async function combineShares(
  dataDir: string,
  shares: readonly { source: string; text: string }[],
): Promise<Buffer> {
  const custody = readCustody(dataDir);
  const rejected: RejectedShare[] = [];
  const valid = new Map<number, Buffer>();
  for (const { source, text } of shares) {
    const parsed = parseShare(text, custody);
    if (typeof parsed === 'string') rejected.push({ source, reason: parsed });
    else if (valid.has(parsed.index))
      rejected.push({ source, reason: `custodian ${parsed.index}'s share was already given` });
    else valid.set(parsed.index, parsed.bytes);
  }
  // Never fewer than 2, whatever custody.json says: one share alone reveals nothing (Shamir).
  const needed = Math.max(2, custody.quorum);
  const why = rejected.map((r) => `${r.source}: ${r.reason}`).join('; ');
  if (valid.size < needed) {
    for (const bytes of valid.values()) bytes.fill(0);
    throw new CustodyError(
      'SHARES_INSUFFICIENT',
      `custody: ${valid.size} valid custodian share${valid.size === 1 ? '' : 's'} given, ${needed} needed (quorum ${needed} of ${custody.custodians})` +
        (rejected.length > 0 ? `; rejected: ${why}` : '') +
        `. Ask ${needed - valid.size} more custodian${needed - valid.size === 1 ? '' : 's'} for their share.`,
      { valid: valid.size, needed, rejected },
    );
  }
  const parts = [...valid.values()].map((bytes) => new Uint8Array(bytes));
  for (const bytes of valid.values()) bytes.fill(0);
  const plain = await combine(parts);
  const combined = Buffer.from(plain);
  plain.fill(0);
  for (const part of parts) part.fill(0);
  const expected = Buffer.from(custody.keyCheck, 'base64');
  if (!sameBytes(keyCheckValue(combined, custody.dataCenterId), expected)) {
    combined.fill(0);
    throw new CustodyError(
      'SHARES_WRONG_KEY',
      `custody: the ${valid.size} shares given do not combine into this data center's key (key check value differs); check that each custodian brought the share of this data center`,
      { valid: 0, needed, rejected },
    );
  }
  return combined;
}

/** Checks a domain key against custody.json (a box does this before it uses the key). */
export function isDomainKeyOf(dataDir: string, domainKey: Uint8Array): boolean {
  const custody = readCustody(dataDir);
  return sameBytes(
    keyCheckValue(domainKey, custody.dataCenterId),
    Buffer.from(custody.keyCheck, 'base64'),
  );
}
