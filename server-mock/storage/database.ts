/**
 * @module storage/database
 * Which database a data center keeps its records in (patent part 36): the SQLite file in its data
 * directory (the default), or a PostgreSQL database named by `--database postgres://…` at init
 * and at every start. The data directory records the choice (datacenter.json, without any
 * password) and the PostgreSQL database records the data center it belongs to, so a start with
 * the other engine, or against another data center's database, is refused with what to do.
 */
import { join } from 'node:path';
import { PgStorage } from './pg-storage';
import { SqliteStorage } from './sqlite-storage';
import type { Storage } from './storage';
import { openThreadedStorage } from './threaded-storage';

/** What datacenter.json keeps about a PostgreSQL database: where it is, never a password. */
export interface DatabaseRecord {
  engine: 'postgres';
  /** host:port/database, for messages and for the check at start. */
  location: string;
}

const DATA_CENTER_KEY = 'data_center_id';

/** host:port/database of a PostgreSQL URL; refuses anything else with the expected form. */
export function databaseLocation(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      `--database ${redact(url)}: not a URL; give postgres://USER@HOST:PORT/DATABASE (the password in PGPASSWORD or ~/.pgpass)`,
    );
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:')
    throw new Error(
      `--database ${redact(url)}: only PostgreSQL is supported (postgres://USER@HOST:PORT/DATABASE); without --database the data center uses SQLite in its data directory`,
    );
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, '')) || 'postgres';
  return `${parsed.hostname || 'localhost'}:${parsed.port || '5432'}/${database}`;
}

/** The URL with any password replaced, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, '$1***@');
}

export interface OpenDatabaseOptions {
  dataDir: string;
  /** What the data directory recorded at init (undefined: SQLite). */
  recorded: DatabaseRecord | undefined;
  /** `--database URL` as given now (undefined: none). */
  url: string | undefined;
  /** The data center's id (datacenter.json): the PostgreSQL database must belong to it. */
  dataCenterId: string | undefined;
  /** init: the database must be new (claimDatabase then marks it as this data center's). */
  claim?: boolean;
  /** SQLite only: the writer on its own thread (a running data center). */
  threaded?: boolean;
}

/**
 * Opens the data center's storage after checking that the database is the one its data
 * directory was initialised with.
 */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Storage> {
  const { dataDir, recorded, url, dataCenterId } = options;
  if (!recorded && !options.claim) {
    if (url !== undefined)
      throw new Error(
        `data center: ${dataDir} keeps its records in SQLite (${join(dataDir, 'datacenter.db')}), not in ${redact(url)}; start it without --database`,
      );
  }
  if (recorded && url === undefined)
    throw new Error(
      `data center: ${dataDir} keeps its records in PostgreSQL (${recorded.location}); start it with --database postgres://USER@${recorded.location}`,
    );
  if (url === undefined) {
    const file = join(dataDir, 'datacenter.db');
    return options.threaded ? openThreadedStorage(file) : new SqliteStorage(file);
  }
  const location = databaseLocation(url);
  if (recorded && recorded.location !== location)
    throw new Error(
      `data center: ${dataDir} keeps its records in PostgreSQL at ${recorded.location}, not at ${location}; give --database the URL of that database`,
    );
  const storage = await PgStorage.open(url);
  try {
    const owner = await storage.setting(DATA_CENTER_KEY);
    if (options.claim) {
      if (owner !== undefined)
        throw new Error(
          `data center: the database ${location} already holds data center ${owner}; initialise with an empty database`,
        );
    } else if (owner !== dataCenterId) {
      throw new Error(
        owner === undefined
          ? `data center: the database ${location} holds no data center, not ${dataDir}'s records; give --database the URL it was initialised with`
          : `data center: the database ${location} belongs to data center ${owner}, not to ${dataDir} (${dataCenterId ?? 'no id'}); give --database the URL it was initialised with`,
      );
    }
  } catch (error) {
    await storage.close();
    throw error;
  }
  return storage;
}

/** init: marks a new PostgreSQL database as the data center's (SQLite lives in its data dir). */
export async function claimDatabase(storage: Storage, dataCenterId: string): Promise<void> {
  if (storage instanceof PgStorage) await storage.setSetting(DATA_CENTER_KEY, dataCenterId);
}
