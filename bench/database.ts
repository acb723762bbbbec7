/**
 * @module bench/database
 * Raw access to a data center's SQLite file, for the tests and the fault campaigns: read and
 * write meter records behind the data center's back (tampering), and check what must hold in the data center's database after any crash (DESIGN.md, "Freshness and crash
 * safety"): per meter, ascending + descending = credited (refills + refunds), the pieces add up
 * to the ascending register, no two pieces share (meter, ascending register value), and every
 * indicium a client received is recorded. Read straight from the SQLite file.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';

/** A second connection to the running data center's SQLite file. */
export function openDb(dir: string): Database.Database {
  const db = new Database(join(dir, 'datacenter.db'));
  db.pragma('busy_timeout = 5000');
  return db;
}

export type MeterRow = Record<string, string | number>;

/** The stored meter record row of a serial. */
export function meterRow(db: Database.Database, serial: string): MeterRow {
  return db.prepare('SELECT * FROM meter_records WHERE serial = ?').get(serial) as MeterRow;
}

/** The record columns that the meter box MACs (everything but the serial and the timestamp). */
export const RECORD_COLUMNS = [
  'account_id',
  'status',
  'demo',
  'ascending_cents',
  'descending_cents',
  'credited_cents',
  'counter',
  'wrapped_key',
  'certificate_serial',
  'key_version',
  'mac_period',
  'mac',
] as const;

/** Writes `values` (record columns) into the row of `serial`. */
export function writeRecord(db: Database.Database, serial: string, values: MeterRow): void {
  const sets = RECORD_COLUMNS.map((c) => `${c} = @${c}`).join(', ');
  const params = Object.fromEntries(RECORD_COLUMNS.map((c) => [c, values[c]]));
  db.prepare(`UPDATE meter_records SET ${sets} WHERE serial = @serial`).run({ ...params, serial });
}

/** Money invariants of one database: per meter, ascending + descending = refills + refunds. */
export function ledgerProblems(db: Database.Database): string[] {
  const problems: string[] = [];
  const rows = db.prepare('SELECT * FROM meter_records').all() as MeterRow[];
  for (const r of rows) {
    const serial = r.serial as string;
    const refilled = (
      db
        .prepare('SELECT COALESCE(SUM(amount_cents),0) AS n FROM refills WHERE meter_serial = ?')
        .get(serial) as { n: number }
    ).n;
    const refunded = (
      db
        .prepare('SELECT COALESCE(SUM(amount_cents),0) AS n FROM refunds WHERE meter_serial = ?')
        .get(serial) as { n: number }
    ).n;
    const asc = r.ascending_cents as number;
    const desc = r.descending_cents as number;
    if (asc + desc !== refilled + refunded)
      problems.push(`${serial}: ${asc} + ${desc} != ${refilled} + ${refunded}`);
    const used = (
      db
        .prepare('SELECT COALESCE(SUM(postage_cents),0) AS n FROM pieces WHERE meter_serial = ?')
        .get(serial) as { n: number }
    ).n;
    if (used !== asc) problems.push(`${serial}: pieces sum ${used} != ascending ${asc}`);
  }
  return problems;
}

/** Pairs (meter, ascending) held by more than one piece; the UNIQUE constraint should make it empty. */
export function duplicateAscending(db: Database.Database): string[] {
  return (
    db
      .prepare(
        'SELECT meter_serial, ascending_cents, COUNT(*) AS n FROM pieces GROUP BY meter_serial, ascending_cents HAVING n > 1',
      )
      .all() as { meter_serial: string; ascending_cents: number }[]
  ).map((r) => `${r.meter_serial}@${r.ascending_cents}`);
}

/** Indicia (base64) that a client received but the pieces table does not hold byte for byte. */
export function unrecorded(db: Database.Database, received: Iterable<string>): string[] {
  const find = db.prepare('SELECT indicium FROM pieces WHERE indicium = ?');
  const missing: string[] = [];
  for (const b64 of received) if (!find.get(Buffer.from(b64, 'base64'))) missing.push(b64);
  return missing;
}

/** A fingerprint of everything a refused request must not change: money, pieces, accounts. */
export function moneySnapshot(db: Database.Database): string {
  const one = (sql: string) => JSON.stringify(db.prepare(sql).all());
  return [
    one(
      'SELECT serial, ascending_cents, descending_cents, credited_cents, counter, mac FROM meter_records ORDER BY serial',
    ),
    one("SELECT COUNT(*) AS n, COALESCE(SUM(status = 'refunded'), 0) AS r FROM pieces"),
    one('SELECT COUNT(*) AS n FROM refills'),
    one('SELECT COUNT(*) AS n FROM refunds'),
    one('SELECT COUNT(*) AS n FROM mailers'),
    one('SELECT COUNT(*) AS n FROM meters'),
    one('SELECT COUNT(*) AS n, COALESCE(SUM(revoked), 0) AS r FROM sessions'),
    one('SELECT id, low_balance_cents, auto_refill_cents FROM mailers ORDER BY id'),
    one('SELECT piece_id, kind FROM piece_claims ORDER BY piece_id'),
  ].join('\n');
}
