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
});
