import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../../server-mock/storage/migrations';
import { SqliteStorage } from '../../../server-mock/storage/sqlite-storage';

const dirs: string[] = [];
const freshFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-migrate-'));
  dirs.push(dir);
  return join(dir, 'datacenter.db');
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const indexes = (db: Database.Database) =>
  (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as { name: string }[])
    .map((r) => r.name)
    .sort();

describe('storage migrations', () => {
  it('brings a version 1 database to the current version without the history index', async () => {
    const file = freshFile();
    const v1 = new Database(file);
    v1.exec(MIGRATIONS[0] as string);
    v1.pragma('user_version = 1');
    expect(indexes(v1)).toContain('pieces_by_mailer');
    v1.close();

    await new SqliteStorage(file).close();

    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(MIGRATIONS.length);
    expect(indexes(db)).not.toContain('pieces_by_mailer');
    db.close();
  });

  it("serves a history page from the meter's register index, with no sort", async () => {
    const file = freshFile();
    await new SqliteStorage(file).close();
    const db = new Database(file);
    const plan = (
      db
        .prepare(
          `EXPLAIN QUERY PLAN SELECT * FROM pieces
             WHERE meter_serial = (SELECT serial FROM meters WHERE mailer_id = 'm') AND mailer_id = 'm'
             ORDER BY ascending_cents DESC LIMIT 20 OFFSET 0`,
        )
        .all() as { detail: string }[]
    ).map((r) => r.detail);
    db.close();
    expect(plan.join(' | ')).toMatch(/SEARCH pieces USING INDEX \S+ \(meter_serial=\?\)/);
    expect(plan.join(' | ')).not.toMatch(/TEMP B-TREE/);
  });

  it('carries pieces verified before v3 into scan claims, and refunds into refund claims', async () => {
    const file = freshFile();
    const v2 = new Database(file);
    v2.exec(MIGRATIONS[0] as string);
    v2.exec(MIGRATIONS[1] as string);
    v2.pragma('user_version = 2');
    v2.exec(`INSERT INTO mailers (id, username, name, origin_zip, verifier, created_at)
               VALUES ('m', 'user', 'U', '94103', 'v', '2026-01-01');
             INSERT INTO meters (serial, mailer_id, certificate_serial, certificate_pem, created_at)
               VALUES ('VPM000000001', 'm', '00000000000000a1', 'pem', '2026-01-01')`);
    const piece = v2.prepare(
      `INSERT INTO pieces (piece_id, meter_serial, mailer_id, indicium, signature, postage_cents,
         ascending_cents, descending_cents, mail_class, origin_zip, destination_zip, mailing_date,
         created_at, status) VALUES (?, 'VPM000000001', 'm', ?, x'00', 73, ?, 0, 'first-class',
         '94103', '10001', '2026-01-01', '2026-01-01', ?)`,
    );
    piece.run('p-scanned', Buffer.from('scanned piece'), 73, 'issued');
    piece.run('p-unseen', Buffer.from('unseen piece'), 146, 'issued');
    piece.run('p-refunded', Buffer.from('refunded piece'), 219, 'refunded');
    v2.prepare(
      `INSERT INTO refunds (piece_id, meter_serial, amount_cents, created_at, receipt, signature)
         VALUES ('p-refunded', 'VPM000000001', 73, '2026-01-02', '{}', 's')`,
    ).run();
    v2.prepare(
      `INSERT INTO verifications (digest, seen, first_at, last_at) VALUES (?, 2, '2026-01-03', '2026-01-04')`,
    ).run(createHash('sha256').update('scanned piece').digest('hex'));
    v2.close();

    const storage = new SqliteStorage(file);
    expect(await storage.claimOf('p-scanned')).toMatchObject({ kind: 'scan', seen: 2 });
    expect(await storage.claimOf('p-unseen')).toBeUndefined();
    expect(await storage.claimOf('p-refunded')).toMatchObject({ kind: 'refund' });
    expect(await storage.claimForRefund('p-scanned', '2026-01-05')).toBe('scanned');
    await storage.close();
    const db = new Database(file);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all();
    expect(tables).not.toContainEqual({ name: 'verifications' });
    db.close();
  });
});
