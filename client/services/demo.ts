/**
 * @module services/demo
 * Offline demo: the real data center code embedded on loopback (random port, its own fresh data
 * directory, every meter a demo meter), a demo mailer signed in with demo funds. Every indicium it
 * issues carries the demo flag and prints as SAMPLE — NOT VALID POSTAGE. A postal authority with its
 * own throwaway directory runs beside it, so the demo data center reports every indicium to it.
 * The data center and the postal authority are handed in (StartDemoBackend): client/ has none.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_KEYCHAIN } from './keychain';
import { SessionManager } from './session';

export const DEMO_FUNDS_CENTS = 10_000;
export const DEMO_USER = 'demo';

/** A running embedded data center (and the postal authority it reports to), on loopback. */
export interface DemoBackend {
  /** The data center's HTTPS URL and the file of its CA. */
  url: string;
  caPath: string;
  /** The demo's own postal authority, which the data center reports every indicium to. */
  postal: { url: string; caPath: string };
  /** Stops both. */
  close(): Promise<void>;
}

/**
 * Starts the demo's data center and postal authority in `dir` (fresh, throwaway; every meter a
 * demo meter). The client has no data center code: the composition root (app/demo-backend.ts)
 * hands this in.
 */
export type StartDemoBackend = (options: {
  dir: string;
  onStep: (step: string) => void;
}) => Promise<DemoBackend>;

export interface Demo {
  backend: DemoBackend;
  session: SessionManager;
  home: string;
  username: string;
  close(): Promise<void>;
}

/** Starts the embedded demo data center and signs in a demo mailer with demo funds. */
export async function startDemo(
  startBackend: StartDemoBackend,
  options: { onStep?: (step: string) => void } = {},
): Promise<Demo> {
  const onStep = options.onStep ?? (() => undefined);
  const base = await mkdtemp(join(tmpdir(), 'vpm-demo-'));
  let backend: DemoBackend;
  try {
    backend = await startBackend({ dir: base, onStep });
  } catch (error) {
    await rm(base, { recursive: true, force: true });
    throw error;
  }
  const home = join(base, 'client');
  const session = new SessionManager(
    home,
    NO_KEYCHAIN,
    { server: backend.url, ca: backend.caPath },
    {},
  );
  const close = async () => {
    await session.close();
    await backend.close();
    await rm(base, { recursive: true, force: true });
  };
  // The demo password lives only in this process's memory, like the demo account itself.
  const password = randomBytes(18).toString('base64url');
  onStep('Creating the demo mailer and adding demo funds…');
  try {
    await session.signUp({
      username: DEMO_USER,
      password,
      name: 'Demo Mailer',
      originZip: '20260',
    });
    await session.signIn(DEMO_USER, password, false);
    await session.call((c) =>
      c.refill({
        amountCents: DEMO_FUNDS_CENTS,
        cardNumber: '4242424242424242',
        idempotencyKey: 'demo-initial-funds',
      }),
    );
  } catch (error) {
    await close();
    throw error;
  }
  return { backend, session, home, username: DEMO_USER, close };
}
