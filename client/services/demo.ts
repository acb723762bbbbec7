/**
 * @module services/demo
 * Offline demo: the real data center code embedded on loopback (random port, its own fresh data
 * directory, every meter a demo meter), a demo mailer signed in with demo funds. Every indicium it
 * issues carries the demo flag and prints as SAMPLE — NOT VALID POSTAGE. A postal authority with its
 * own throwaway directory runs beside it, so the demo data center reports every indicium to it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { approveVendor, initPostal, startPostal, type RunningPostal } from '../../postal/index';
import { initDataCenter, startDataCenter, type RunningDataCenter } from '../../server-mock/index';
import { NO_KEYCHAIN } from './keychain';
import { SessionManager } from './session';

export const DEMO_FUNDS_CENTS = 10_000;
export const DEMO_USER = 'demo';

export interface Demo {
  running: RunningDataCenter;
  /** The demo's own postal authority, which the data center reports to. */
  postal: RunningPostal;
  session: SessionManager;
  home: string;
  username: string;
  close(): Promise<void>;
}

/** Starts the embedded demo data center and signs in a demo mailer with demo funds. */
export async function startDemo(options: { onStep?: (step: string) => void } = {}): Promise<Demo> {
  const step = options.onStep ?? (() => undefined);
  const base = await mkdtemp(join(tmpdir(), 'vpm-demo-'));
  const dataDir = join(base, 'datacenter');
  step('Creating the demo data center (key ceremony)…');
  // A throwaway custodian share set, kept in this process's memory only (never on disk).
  const { shares } = await initDataCenter(dataDir, { demo: true });
  step('Starting a postal authority for the demo (its own throwaway directory)…');
  const postalDir = join(base, 'postal');
  const { caPath: postalCa } = await initPostal(postalDir);
  await approveVendor(postalDir, await readFile(join(dataDir, 'boxes', 'vendor-ca.pem'), 'utf8'));
  const postal = await startPostal({ dataDir: postalDir, host: '127.0.0.1', port: 0 });
  step('Starting its secure boxes and HTTPS server on loopback…');
  let running: RunningDataCenter;
  try {
    running = await startDataCenter({
      dataDir,
      host: '127.0.0.1',
      port: 0,
      shares,
      postal: { url: postal.url, caPem: await readFile(postalCa, 'utf8') },
    });
  } catch (error) {
    await postal.close();
    throw error;
  }
  const home = join(base, 'client');
  const session = new SessionManager(
    home,
    NO_KEYCHAIN,
    { server: running.url, ca: running.caPath },
    {},
  );
  // The demo password lives only in this process's memory, like the demo account itself.
  const password = randomBytes(18).toString('base64url');
  step('Creating the demo mailer and adding demo funds…');
  await session.signUp({ username: DEMO_USER, password, name: 'Demo Mailer', originZip: '20260' });
  await session.signIn(DEMO_USER, password, false);
  await session.call((c) =>
    c.refill({
      amountCents: DEMO_FUNDS_CENTS,
      cardNumber: '4242424242424242',
      idempotencyKey: 'demo-initial-funds',
    }),
  );
  return {
    running,
    postal,
    session,
    home,
    username: DEMO_USER,
    async close() {
      await session.close();
      await running.close();
      await postal.close();
      await rm(base, { recursive: true, force: true });
    },
  };
}
