/**
 * @module postal
 * The postal authority: another organisation's service, with its own directory and its own keys
 * (on another host in production). Data centers report every indicium to it; it answers with
 * signed receipts, catches a data center restored from a copy, and answers verifiers. This is the
 * folder's public surface: `initPostal`, `approveVendor`, `startPostal`, `postalAlerts`.
 */
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { PostalAuthority, fingerprint } from './authority';
import { createPostalKeys, loadReceiptSigner, postalPaths } from './keys';
import { buildPostalServer } from './server';
import { PostalStore, type PostalAlert } from './store';

export type { PostalAlert } from './store';
export { MAX_REPORTS_PER_BATCH } from './server';

const configPath = (dir: string) => join(dir, 'postal.json');
const dbPath = (dir: string) => join(dir, 'postal.db');
export const isPostalInitialised = (dir: string): boolean => existsSync(configPath(dir));

function requireInitialised(dir: string): void {
  if (!isPostalInitialised(dir))
    throw new Error(
      `postal authority: ${dir} is not initialised; run vpm postal init --data ${dir}`,
    );
}

/** Creates the postal authority's keys, TLS CA (PDIR/tls/ca.pem) and database. */
export async function initPostal(dir: string): Promise<{ caPath: string }> {
  if (isPostalInitialised(dir)) throw new Error(`postal authority: ${dir} is already initialised`);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const paths = await createPostalKeys(dir);
  new PostalStore(dbPath(dir)).close();
  await chmod(dbPath(dir), 0o600);
  await writeFile(
    configPath(dir),
    JSON.stringify({ createdAt: new Date().toISOString() }, null, 2) + '\n',
    { mode: 0o600 },
  );
  return { caPath: paths.caPath };
}

/** The post approves a vendor's CA (a data center's DIR/boxes/vendor-ca.pem). */
export async function approveVendor(
  dir: string,
  vendorCaPem: string,
): Promise<{ fingerprint: string; subject: string; added: boolean }> {
  requireInitialised(dir);
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(vendorCaPem);
  } catch {
    throw new Error('approve-vendor: the file is not a PEM certificate');
  }
  if (!cert.ca) throw new Error('approve-vendor: the certificate is not a CA certificate');
  const store = new PostalStore(dbPath(dir));
  try {
    const row = {
      fingerprint: fingerprint(vendorCaPem),
      subject: cert.subject,
      certificatePem: cert.toString(),
      approvedAt: new Date().toISOString(),
    };
    const added = store.approveVendor(row);
    return { fingerprint: row.fingerprint, subject: row.subject, added };
  } finally {
    store.close();
  }
}

/** The postal authority's fraud alerts, oldest first. */
export function postalAlerts(dir: string): PostalAlert[] {
  requireInitialised(dir);
  const store = new PostalStore(dbPath(dir), { readonly: true });
  try {
    return store.alerts();
  } finally {
    store.close();
  }
}

export interface RunningPostal {
  url: string;
  port: number;
  caPath: string;
  server: FastifyInstance;
  close(): Promise<void>;
}

export interface PostalStartOptions {
  dataDir: string;
  host?: string;
  port?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
}

/** Starts the postal authority's HTTPS server. */
export async function startPostal(options: PostalStartOptions): Promise<RunningPostal> {
  const dir = options.dataDir;
  requireInitialised(dir);
  const paths = postalPaths(dir);
  const store = new PostalStore(dbPath(dir));
  const authority = new PostalAuthority(store, await loadReceiptSigner(dir), options.log);
  const server = await buildPostalServer(authority, {
    tls: {
      key: await readFile(paths.keyPath, 'utf8'),
      cert: await readFile(paths.certPath, 'utf8'),
    },
    log: options.log,
  });
  const host = options.host ?? '127.0.0.1';
  try {
    await server.listen({ host, port: options.port ?? 8444 });
  } catch (error) {
    store.close();
    throw error;
  }
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : (options.port ?? 8444);
  let closed = false;
  return {
    url: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    caPath: paths.caPath,
    server,
    async close() {
      if (closed) return;
      closed = true;
      await server.close();
      store.close();
    },
  };
}
