/**
 * @module server-mock
 * The data center as one runnable unit: `initDataCenter` (key ceremony, TLS, database, admin
 * credential) and `startDataCenter` (boxes + HTTPS server). Used by `vpm datacenter …`, by the
 * offline demo (embedded on loopback) and by the tests (port 0, fresh data dir).
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { BOX_NAMES, runKeyCeremony, startBoxes, type BoxSet } from './boxes/index';
import { buildServer } from './communication/server';
import { createTls, tlsPaths } from './communication/tls';
import { FakeCardProcessor } from './function/card-processor';
import { DataCenter } from './function/data-center';
import { SqliteStorage } from './storage/sqlite-storage';
import { openThreadedStorage } from './storage/threaded-storage';

export const VERSION = '0.1.0';

export interface DataCenterConfig {
  demo: boolean;
  createdAt: string;
}

export interface InitResult {
  adminToken: string;
  caPath: string;
  dataDir: string;
}

const configPath = (dataDir: string) => join(dataDir, 'datacenter.json');
export const isInitialised = (dataDir: string): boolean => existsSync(configPath(dataDir));

/** The key ceremony and everything else a new data center needs. Refuses an initialised dir. */
export async function initDataCenter(
  dataDir: string,
  options: { demo?: boolean } = {},
): Promise<InitResult> {
  if (isInitialised(dataDir))
    throw new Error(
      `data center: ${dataDir} is already initialised; start it with vpm datacenter start --data ${dataDir}`,
    );
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await runKeyCeremony(dataDir);
  const { caPath } = await createTls(dataDir);
  const storage = new SqliteStorage(join(dataDir, 'datacenter.db'));
  const adminToken = randomBytes(32).toString('base64url');
  await storage.setAdminTokenHash(createHash('sha256').update(adminToken).digest('hex'));
  await storage.close();
  const config: DataCenterConfig = {
    demo: options.demo ?? false,
    createdAt: new Date().toISOString(),
  };
  await writeFile(configPath(dataDir), JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
  return { adminToken, caPath, dataDir };
}

export interface RunningDataCenter {
  url: string;
  port: number;
  caPath: string;
  dc: DataCenter;
  boxes: BoxSet;
  server: FastifyInstance;
  close(): Promise<void>;
}

export interface StartOptions {
  dataDir: string;
  host?: string;
  port?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** Sign-on attempts per minute per address (lower in tests of the rate limit). */
  authRateLimit?: number;
  sessionTtlSeconds?: number;
}

/** Starts the boxes and the HTTPS server. */
export async function startDataCenter(options: StartOptions): Promise<RunningDataCenter> {
  const { dataDir } = options;
  if (!isInitialised(dataDir))
    throw new Error(
      `data center: ${dataDir} is not initialised; run vpm datacenter init --data ${dataDir}`,
    );
  const config = JSON.parse(await readFile(configPath(dataDir), 'utf8')) as DataCenterConfig;
  const boxes = await startBoxes(dataDir, { supervise: true });
  const storage = await openThreadedStorage(join(dataDir, 'datacenter.db'));
  const dc = new DataCenter(storage, boxes, new FakeCardProcessor(), {
    demo: config.demo,
    sessionTtlSeconds: options.sessionTtlSeconds,
    log: options.log,
  });
  const tls = tlsPaths(dataDir);
  const server = await buildServer(dc, {
    tls: { key: await readFile(tls.keyPath, 'utf8'), cert: await readFile(tls.certPath, 'utf8') },
    version: VERSION,
    boxStatus: () =>
      Object.fromEntries(BOX_NAMES.map((name) => [name, boxes.pids()[name] ? 'up' : 'down'])),
    authRateLimit: options.authRateLimit,
    log: options.log,
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await server.listen({ host, port: options.port ?? 8443 });
  } catch (error) {
    await boxes.close();
    await storage.close();
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
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      await boxes.close();
      await storage.close();
    },
  };
}
