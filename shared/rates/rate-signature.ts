/**
 * @module rates/rate-signature
 * What the transaction box signs for a rate table: a transaction record of kind "rate-table"
 * whose body names the table (version, effective date, source) and carries the SHA-256 of the
 * table's canonical JSON. The box signs "vpm-txn-v1\n" + canonical JSON of {kind, body}
 * (server-mock/boxes/txn-box.ts); the client rebuilds the same bytes to check the signature
 * with the box's certificate, which the vendor CA issued (`CN=VPM transaction box <id>`).
 */
import { canonicalJson } from '../canonical-json';
import type { RateTable } from './rate-table';

export const RATE_TABLE_KIND = 'rate-table';
/** Subject common-name prefix of the transaction box's certificate. */
export const TXN_CERT_PREFIX = 'VPM transaction box ';

/** The text whose SHA-256 the record carries. */
export const rateTableText = (table: RateTable): string => canonicalJson(table);

/** The body of the signed record, given the table's SHA-256 (hex). */
export function rateTableRecord(table: RateTable, sha256Hex: string): Record<string, unknown> {
  return {
    version: table.version,
    effectiveDate: table.effectiveDate,
    source: table.source,
    sha256: sha256Hex,
  };
}

/** The exact text the transaction box signs (UTF-8). */
export function rateTableMessage(table: RateTable, sha256Hex: string): string {
  return `vpm-txn-v1\n${canonicalJson({ kind: RATE_TABLE_KIND, body: rateTableRecord(table, sha256Hex) })}`;
}
