/**
 * Test helper: a real data center (boxes as processes, SQLite file, HTTPS) on port 0 in a fresh
 * temp directory, and clients pinned to its CA.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  initDataCenter,
  startDataCenter,
  type RunningDataCenter,
  type StartOptions,
} from '../../server-mock/index';
import { DataCenterClient } from '../../client/services/datacenter-client';

export interface TestDataCenter {
  dir: string;
  /** The custodian shares made at init (all n of them); every start uses them. */
  shares: string[];
  running: RunningDataCenter;
  caPem: string;
  adminToken: string;
  client(token?: string): DataCenterClient;
  /** Signs up and signs in a fresh mailer; returns its client. */
  mailer(name?: string): Promise<DataCenterClient>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

let counter = 0;

export async function startTestDataCenter(
  options: { demo?: boolean; authRateLimit?: number; boxEntry?: string } & Pick<
    StartOptions,
    'cardProcessor' | 'signOn' | 'verifyRateLimit'
  > = {},
): Promise<TestDataCenter> {
  const dir = await mkdtemp(join(tmpdir(), 'vpm-dc-'));
  const { adminToken, caPath, shares } = await initDataCenter(dir, {
    demo: options.demo ?? false,
  });
  const caPem = await readFile(caPath, 'utf8');
  const clients: DataCenterClient[] = [];
  const start = () =>
    startDataCenter({
      dataDir: dir,
      port: 0,
      shares,
      authRateLimit: options.authRateLimit ?? 1000,
      boxEntry: options.boxEntry,
      cardProcessor: options.cardProcessor,
      signOn: options.signOn,
      verifyRateLimit: options.verifyRateLimit,
    });
  const t: TestDataCenter = {
    dir,
    shares,
    running: await start(),
    caPem,
    adminToken,
    client(token?: string) {
      const c = new DataCenterClient({ serverUrl: t.running.url, caPem, token, retries: 0 });
      clients.push(c);
      return c;
    },
    async mailer(name = `mailer${++counter}`) {
      const c = t.client();
      await c.signUp({
        username: name,
        password: 'correct horse battery',
        name: `Mailer ${name}`,
        originZip: '94103',
      });
      await c.signIn({ username: name, password: 'correct horse battery' });
      return c;
    },
    async restart() {
      await t.running.close();
      t.running = await start();
    },
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await t.running.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return t;
}
