/**
 * @module server-mock
 * The data center as one runnable unit: `initDataCenter` (key ceremony with custodian shares,
 * TLS, database, admin credential) and `startDataCenter` (boxes unlocked by a quorum of shares +
 * HTTPS server). Used by `vpm datacenter …`, by the offline demo (embedded on loopback, with a
 * throwaway share set in memory) and by the tests (port 0, fresh data dir).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, realpathSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { FastifyInstance } from 'fastify';
import {
  runKeyCeremony,
  startBoxes,
  startPool,
  type BoxSet,
  type RunningPool,
  shareInputs,
  type ShareInput,
} from './boxes/index';
import { buildServer } from './communication/server';
import { RateTables } from './function/rate-tables';
import { createTls, openTlsKey, tlsPaths, tlsSealKey } from './communication/tls';
import { combineShares } from './boxes/custody';
import { FakeCardProcessor, type CardProcessor } from './function/card-processor';
import { DataCenter } from './function/data-center';
import { PostalWitness } from './function/postal-witness';
import type { SignOnThrottleOptions } from './function/sign-on-throttle';
import {
  claimDatabase,
  databaseLocation,
  openDatabase,
  type DatabaseRecord,
} from './storage/database';
import type { Storage } from './storage/storage';
import { acquireRunLock, acquireSqliteNodeLock } from './run-lock';
import type { MeterSuspension } from './boxes/api';
import { checkMailerId } from './function/tracking';

export const VERSION = '0.1.0';
export { currentRateTable, importRateTable } from './function/rate-tables';

export interface DataCenterConfig {
  demo: boolean;
  createdAt: string;
  /** The random id chosen at init; every custodian share carries it. */
  dataCenterId?: string;
  /** PostgreSQL (`--database` at init); absent: SQLite in the data directory. */
  database?: DatabaseRecord;
}

export interface InitResult {
  adminToken: string;
  caPath: string;
  dataDir: string;
  dataCenterId: string;
  /** The custodian share lines (custodian 1 … n): the only thing that can start this data center. */
  shares: string[];
  /** Each share's short check value, in the same order. */
  checkValues: string[];
  /** The share files written (with shareOut), in the same order. */
  shareFiles: string[];
}

export interface InitOptions {
  demo?: boolean;
  /** Custodians n and quorum k (defaults 3 and 2). */
  custodians?: number;
  quorum?: number;
  /** Where to write custodian-1.share … custodian-n.share (mode 0600); never inside the data dir. */
  shareOut?: string;
  /** `--database postgres://…`: keep the records in this (empty) PostgreSQL database. */
  database?: string;
}

/** A path with its existing part resolved through symlinks (the rest may not exist yet). */
function realish(path: string): string {
  const full = resolve(path);
  if (existsSync(full)) return realpathSync(full);
  const parent = dirname(full);
  return parent === full ? full : join(realish(parent), full.slice(parent.length + 1));
}

/** True when `inner` is `outer` or below it. */
function isWithin(outer: string, inner: string): boolean {
  const rel = relative(realish(outer), realish(inner));
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export const shareFileName = (index: number): string => `custodian-${index}.share`;

const configPath = (dataDir: string) => join(dataDir, 'datacenter.json');
export const isInitialised = (dataDir: string): boolean => existsSync(configPath(dataDir));

/** The key ceremony and everything else a new data center needs. Refuses an initialised dir. */
export async function initDataCenter(
  dataDir: string,
  options: InitOptions = {},
): Promise<InitResult> {
  if (isInitialised(dataDir))
    throw new Error(
      `data center: ${dataDir} is already initialised; start it with vpm datacenter start --data ${dataDir} --share FILE …`,
    );
  const { shareOut } = options;
  if (shareOut !== undefined) {
    if (isWithin(dataDir, shareOut))
      throw new Error(
        `data center: --share-out ${shareOut} is inside the data directory ${dataDir}; shares must never be kept with the data: choose a folder outside it (one per custodian is best)`,
      );
    for (let i = 1; i <= (options.custodians ?? 3); i++)
      if (existsSync(join(shareOut, shareFileName(i))))
        throw new Error(
          `data center: ${join(shareOut, shareFileName(i))} already exists; move the old shares away first`,
        );
  }
  const database: DatabaseRecord | undefined =
    options.database === undefined
      ? undefined
      : { engine: 'postgres', location: databaseLocation(options.database) };
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await chmod(dataDir, 0o700); // mkdir leaves an existing directory's mode as it was
  // The database is checked (reachable, empty) before any key exists.
  const storage = await openDatabase({
    dataDir,
    recorded: undefined,
    url: options.database,
    dataCenterId: undefined,
    claim: true,
  });
  let ceremony: Awaited<ReturnType<typeof runKeyCeremony>>;
  try {
    ceremony = await runKeyCeremony(dataDir, {
      custodians: options.custodians,
      quorum: options.quorum,
    });
  } catch (error) {
    await storage.close();
    throw error;
  }
  const shareFiles: string[] = [];
  if (shareOut !== undefined) {
    await mkdir(shareOut, { recursive: true, mode: 0o700 });
    for (const [i, share] of ceremony.shares.entries()) {
      const file = join(shareOut, shareFileName(i + 1));
      await writeFile(file, `${share}\n`, { mode: 0o600, flag: 'wx' });
      shareFiles.push(file);
    }
  }
  // The TLS server key is sealed under the domain key, like every key file under DIR.
  const domainKey = await combineShares(dataDir, shareInputs(ceremony.shares));
  const sealWith = tlsSealKey(domainKey);
  domainKey.fill(0);
  let caPath: string;
  try {
    ({ caPath } = await createTls(dataDir, { sealWith }));
  } finally {
    sealWith.fill(0);
  }
  const adminToken = randomBytes(32).toString('base64url');
  try {
    await storage.setAdminTokenHash(createHash('sha256').update(adminToken).digest('hex'));
    await claimDatabase(storage, ceremony.dataCenterId);
  } finally {
    await storage.close();
  }
  const config: DataCenterConfig = {
    demo: options.demo ?? false,
    createdAt: new Date().toISOString(),
    dataCenterId: ceremony.dataCenterId,
    ...(database ? { database } : {}),
  };
  await writeFile(configPath(dataDir), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  return {
    adminToken,
    caPath,
    dataDir,
    dataCenterId: ceremony.dataCenterId,
    shares: ceremony.shares,
    checkValues: ceremony.checkValues,
    shareFiles,
  };
}

/**
 * A credential for a postal acceptance scanner (POST /v1/scans), by name: printed once, stored
 * only as its hash. A new token for a known name replaces the old one.
 */
export async function createScannerToken(
  dataDir: string,
  name: string,
  options: { database?: string } = {},
): Promise<string> {
  if (!isInitialised(dataDir))
    throw new Error(
      `data center: ${dataDir} is not initialised; run vpm datacenter init --data ${dataDir}`,
    );
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name))
    throw new Error(
      `scanner name "${name}": use 1 to 64 letters, digits, dots, dashes or underscores`,
    );
  const token = randomBytes(32).toString('base64url');
  const storage = await openStorageOf(dataDir, options.database);
  try {
    await storage.addScanner(
      name,
      createHash('sha256').update(token).digest('hex'),
      new Date().toISOString(),
    );
  } finally {
    await storage.close();
  }
  return token;
}

async function readConfig(dataDir: string): Promise<DataCenterConfig> {
  return JSON.parse(await readFile(configPath(dataDir), 'utf8')) as DataCenterConfig;
}

/** The data center's storage, after checking it is the database the data dir was made with. */
async function openStorageOf(
  dataDir: string,
  database: string | undefined,
  threaded = false,
): Promise<Storage> {
  const config = await readConfig(dataDir);
  return openDatabase({
    dataDir,
    recorded: config.database,
    url: database,
    dataCenterId: config.dataCenterId,
    threaded,
  });
}

/** `vpm datacenter alerts`: the fraud alerts, oldest first. */
export async function listAlerts(
  dataDir: string,
  options: { database?: string } = {},
): Promise<Awaited<ReturnType<Storage['listAlerts']>>> {
  if (!isInitialised(dataDir))
    throw new Error(
      `data center: ${dataDir} is not initialised; run vpm datacenter init --data ${dataDir}`,
    );
  const storage = await openStorageOf(dataDir, options.database);
  try {
    return (await storage.listAlerts(Number.MAX_SAFE_INTEGER)).reverse();
  } finally {
    await storage.close();
  }
}

export interface RunningDataCenter {
  url: string;
  port: number;
  caPath: string;
  dc: DataCenter;
  boxes: BoxSet;
  server: FastifyInstance;
  /** The link to the postal authority; undefined when rollback protection is off. */
  witness?: PostalWitness;
  close(): Promise<void>;
}

/** The postal authority a data center reports to (`--postal URL --postal-ca FILE`). */
export interface PostalLink {
  url: string;
  caPem: string;
  /** Narrower meter box windows than its maximum (1,000 pieces, 5 minutes): tests. */
  windowPieces?: number;
  windowMs?: number;
}

export interface StartOptions {
  dataDir: string;
  /**
   * A quorum of custodian shares (text lines; or {source, text} to name each in a refusal).
   * Fewer valid shares than the quorum, shares of another data center or damaged ones: the start
   * refuses with a CustodyError. The combined key goes to the boxes and is zeroed here.
   */
  shares: readonly ShareInput[];
  /** The box entry script: tests only (their harness turns on test-only box behaviours). */
  boxEntry?: string;
  host?: string;
  port?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Where the boxes' own log lines go (their stderr); default: this process's stderr. */
  boxLog?: (line: string) => void;
  /** Sign-on attempts per minute per address (lower in tests of the rate limit). */
  authRateLimit?: number;
  /** Verifications and certificate pages per minute per address. */
  verifyRateLimit?: number;
  /** How failed sign-ons are slowed (tests set a clock). */
  signOn?: SignOnThrottleOptions;
  /** The card processor (the one outside border); the fake by default. */
  cardProcessor?: CardProcessor;
  sessionTtlSeconds?: number;
  /** The postal authority as outside witness; without it rollback protection is off. */
  postal?: PostalLink;
  /** The vendor's USPS Mailer ID that tracking numbers are assigned under (6 or 9 digits). */
  uspsMailerId?: string;
  /** Days after today a mailing date may be (default 7). */
  mailingWindowDays?: number;
  /**
   * The socket directory of a running box pool (`vpm datacenter boxes start`): this node reaches
   * the steel box and the meter shards there and runs only its own authentication and
   * transaction boxes, so several nodes can serve the same data center (docs/nodes.md).
   */
  boxes?: string;
  /** `--database postgres://…`: required when init was given one, refused otherwise. */
  database?: string;
}

/** Starts the boxes and the HTTPS server. */
export async function startDataCenter(options: StartOptions): Promise<RunningDataCenter> {
  const { dataDir } = options;
  if (!isInitialised(dataDir))
    throw new Error(
      `data center: ${dataDir} is not initialised; run vpm datacenter init --data ${dataDir}`,
    );
  const config = await readConfig(dataDir);
  await chmod(dataDir, 0o700);
  if (options.boxes && options.postal)
    throw new Error(
      'data center: --postal needs the node to run its own meter box; start it without --boxes',
    );
  // A node of a pool runs no stateful box: several nodes share the directory (the pool holds the
  // lock), but only on PostgreSQL; on SQLite one node at a time (see acquireSqliteNodeLock).
  const unlock = !options.boxes
    ? acquireRunLock(dataDir, 'data center start')
    : options.database
      ? () => undefined
      : acquireSqliteNodeLock(dataDir);
  let boxes: BoxSet;
  let storage: Storage;
  try {
    // The database first: a wrong --database is refused before any box is unlocked.
    storage = await openStorageOf(dataDir, options.database, true);
  } catch (error) {
    unlock();
    throw error;
  }
  try {
    boxes = await startBoxes(dataDir, {
      supervise: true,
      shares: options.shares,
      entry: options.boxEntry,
      ...(options.boxLog ? { log: options.boxLog } : {}),
      ...(options.boxes ? { pool: options.boxes } : {}),
    });
  } catch (error) {
    await storage.close();
    unlock();
    throw error;
  }
  // The TLS server key opens only with the shares too (communication/tls.ts).
  let tlsKey: string;
  try {
    const domainKey = await combineShares(dataDir, shareInputs(options.shares));
    const sealKey = tlsSealKey(domainKey);
    domainKey.fill(0);
    try {
      tlsKey = await openTlsKey(dataDir, sealKey);
    } finally {
      sealKey.fill(0);
    }
  } catch (error) {
    await boxes.close();
    await storage.close();
    unlock();
    throw error;
  }
  const log = options.log ?? (() => undefined);
  const witness = options.postal
    ? new PostalWitness({
        ...options.postal,
        boxes,
        storage,
        log,
        alert: async (code, reason) => {
          await storage.addAlert({ meterSerial: null, code, reason });
          log('fraud-alert', { code, reason });
        },
      })
    : undefined;
  const dc = new DataCenter(storage, boxes, options.cardProcessor ?? new FakeCardProcessor(), {
    demo: config.demo,
    sessionTtlSeconds: options.sessionTtlSeconds,
    signOn: options.signOn,
    log: options.log,
    ...(options.uspsMailerId ? { uspsMailerId: checkMailerId(options.uspsMailerId) } : {}),
    ...(options.mailingWindowDays !== undefined
      ? { mailingWindowDays: options.mailingWindowDays }
      : {}),
    ...(witness ? { witness } : {}),
  });
  if (witness) {
    witness.settleMeter = (serial) => dc.settleMeter(serial);
    let state;
    try {
      state = await witness.start();
    } catch (error) {
      await witness.close();
      await boxes.close();
      await storage.close();
      unlock();
      throw error;
    }
    log('postal-witness', { url: options.postal?.url, state });
  } else {
    log('rollback-protection-off', {
      reason:
        'no postal authority (--postal URL --postal-ca FILE): a restored copy of the data directory would go unnoticed',
    });
  }
  const tls = tlsPaths(dataDir);
  const server = await buildServer(dc, {
    tls: { key: tlsKey, cert: await readFile(tls.certPath, 'utf8') },
    version: VERSION,
    boxStatus: () => boxes.status(),
    authRateLimit: options.authRateLimit,
    verifyRateLimit: options.verifyRateLimit,
    log: options.log,
    rates: (
      (tables) => () =>
        tables.current()
    )(new RateTables(dataDir, boxes)),
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await server.listen({ host, port: options.port ?? 8443 });
  } catch (error) {
    await witness?.close();
    await boxes.close();
    await storage.close();
    unlock();
    throw error;
  }
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8443);
  let closed = false;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host === '127.0.0.1' ? '127.0.0.1' : host}:${port}`,
    port,
    caPath: tls.caPath,
    dc,
    boxes,
    server,
    ...(witness ? { witness } : {}),
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await witness?.close();
      await boxes.close();
      await storage.close();
      unlock();
    },
  };
}

/**
 * `vpm datacenter boxes start`: the box pool several API nodes share (boxes/pool.ts): the steel box
 * and `shards` meter-box shards, each listening on SOCKETDIR over the channel. Holds the data
 * directory's run lock (it runs the stateful boxes); nodes started with `boxes` take none.
 */
export async function startBoxPool(options: {
  dataDir: string;
  socketDir: string;
  shards: number;
  shares: readonly ShareInput[];
  boxEntry?: string;
  log?: (line: string) => void;
}): Promise<RunningPool> {
  const { dataDir } = options;
  if (!isInitialised(dataDir))
    throw new Error(
      `data center: ${dataDir} is not initialised; run vpm datacenter init --data ${dataDir}`,
    );
  const unlock = acquireRunLock(dataDir, 'box pool start');
  try {
    const pool = await startPool(dataDir, {
      shares: options.shares,
      socketDir: options.socketDir,
      shards: options.shards,
      entry: options.boxEntry,
      log: options.log,
    });
    return {
      ...pool,
      async close() {
        await pool.close();
        unlock();
      },
    };
  } catch (error) {
    unlock();
    throw error;
  }
}

/**
 * `vpm datacenter reinstate`: lifts the meter box's suspension of a meter (after a fraud alert)
 * and records the reason, with the time, in the alerts table. Runs the boxes of a stopped data
 * center, so it needs what a start needs; the suspension lives in the meter box's NVM, where no
 * database edit reaches it. Answers the suspension it lifted, or null if there was none.
 */
export async function reinstateMeter(
  dataDir: string,
  serial: string,
  reason: string,
  shares: readonly ShareInput[],
  options: { boxEntry?: string; database?: string } = {},
): Promise<MeterSuspension | null> {
  if (!isInitialised(dataDir))
    throw new Error(
      `data center: ${dataDir} is not initialised; run vpm datacenter init --data ${dataDir}`,
    );
  const unlock = acquireRunLock(dataDir, 'reinstate');
  try {
    const storage = await openStorageOf(dataDir, options.database);
    const boxes = await startBoxes(dataDir, { shares, entry: options.boxEntry }).catch(
      async (error: unknown) => {
        await storage.close();
        throw error;
      },
    );
    try {
      const dc = new DataCenter(storage, boxes, new FakeCardProcessor(), { demo: false });
      return await dc.reinstate(serial, reason);
    } finally {
      await storage.close();
      await boxes.close();
    }
  } finally {
    unlock();
  }
}
