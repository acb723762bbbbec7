/**
 * Which database a data center uses (server-mock/storage/database.ts): the data directory records
 * the engine, a PostgreSQL database records its data center, and every mismatch is refused with
 * what to do — before anything is opened for writing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  claimDatabase,
  databaseLocation,
  openDatabase,
  redact,
} from '../../../server-mock/storage/database';
import { PgStorage } from '../../../server-mock/storage/pg-storage';
import { SqliteStorage } from '../../../server-mock/storage/sqlite-storage';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';

let postgres: PostgresServer;
const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-dbchoice-'));
  dirs.push(dir);
  return dir;
};

beforeAll(async () => {
  postgres = await startPostgres({ durable: false });
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('databaseLocation()', () => {
  it('names host, port and database, never the password', () => {
    expect(databaseLocation('postgres://vpm:secret@db.example:6543/meters')).toBe(
      'db.example:6543/meters',
    );
    expect(databaseLocation('postgresql://vpm@localhost/x')).toBe('localhost:5432/x');
    expect(redact('postgres://vpm:secret@db/x')).toBe('postgres://vpm:***@db/x');
  });

  it('refuses another scheme or no URL, saying what to give', () => {
    expect(() => databaseLocation('mysql://db/x')).toThrow(/only PostgreSQL.*postgres:\/\//);
    expect(() => databaseLocation('datacenter.db')).toThrow(/not a URL/);
    expect(() => databaseLocation('mysql://u:pw@db/x')).not.toThrow(/pw/);
  });
});

describe('openDatabase()', () => {
  it('refuses a URL for a data directory that keeps its records in SQLite', async () => {
    const dir = freshDir();
    await expect(
      openDatabase({ dataDir: dir, recorded: undefined, url: postgres.url(), dataCenterId: 'a' }),
    ).rejects.toThrow(/keeps its records in SQLite .*start it without --database/);
    const sqlite = await openDatabase({
      dataDir: dir,
      recorded: undefined,
      url: undefined,
      dataCenterId: 'a',
    });
    expect(sqlite).toBeInstanceOf(SqliteStorage);
    await sqlite.close();
  });

  it('claims an empty PostgreSQL database at init, and refuses one that holds a data center', async () => {
    const url = await postgres.createDatabase();
    const dir = freshDir();
    const first = await openDatabase({
      dataDir: dir,
      recorded: undefined,
      url,
      dataCenterId: undefined,
      claim: true,
    });
    expect(first).toBeInstanceOf(PgStorage);
    await claimDatabase(first, 'dc-one');
    await first.close();
    await expect(
      openDatabase({
        dataDir: freshDir(),
        recorded: undefined,
        url,
        dataCenterId: undefined,
        claim: true,
      }),
    ).rejects.toThrow(/already holds data center dc-one; initialise with an empty database/);

    const recorded = { engine: 'postgres' as const, location: databaseLocation(url) };
    const again = await openDatabase({ dataDir: dir, recorded, url, dataCenterId: 'dc-one' });
    await again.close();
    await expect(
      openDatabase({ dataDir: dir, recorded, url, dataCenterId: 'dc-two' }),
    ).rejects.toThrow(/belongs to data center dc-one/);
    await expect(
      openDatabase({ dataDir: dir, recorded, url: undefined, dataCenterId: 'dc-one' }),
    ).rejects.toThrow(/keeps its records in PostgreSQL .*start it with --database/);
  });

  it('refuses an empty database for a data center that was initialised with another', async () => {
    const url = await postgres.createDatabase();
    const recorded = { engine: 'postgres' as const, location: databaseLocation(url) };
    await expect(
      openDatabase({ dataDir: freshDir(), recorded, url, dataCenterId: 'dc-three' }),
    ).rejects.toThrow(/holds no data center/);
  });

  it('says "try again" when the database cannot be reached', async () => {
    await expect(
      openDatabase({
        dataDir: freshDir(),
        recorded: undefined,
        url: 'postgres://nobody@127.0.0.1:1/none',
        dataCenterId: undefined,
        claim: true,
      }),
    ).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: /try again/ });
  });
});
