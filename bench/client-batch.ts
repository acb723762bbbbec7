/**
 * @module bench/client-batch
 * The client figure of issue 9: a 1,000-piece CSV batch to one print-ready PDF, end to end —
 * CSV checked whole, indicia bought from the data center in chunks, one PDF rendered — through
 * the same PostageService the CLI and the app use.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { NO_KEYCHAIN } from '../client/services/keychain';
import { PostageService } from '../client/services/postage-service';
import { SessionManager } from '../client/services/session';

export async function batchMs(
  serverUrl: string,
  caPath: string,
  pieces = 1000,
  user = 'benchbatch',
): Promise<number> {
  const home = await mkdtemp(join(tmpdir(), 'vpm-bench-client-'));
  const session = new SessionManager(home, NO_KEYCHAIN, { server: serverUrl, ca: caPath }, {});
  try {
    const password = 'bench batch password';
    await session.signUp({
      username: user,
      password,
      name: 'Bench Batch',
      originZip: '10001',
    });
    await session.signIn(user, password, false);
    await session.call((c) =>
      c.refill({
        amountCents: pieces * 100,
        cardNumber: '4242424242424242',
        idempotencyKey: 'bench-batch-funds',
      }),
    );
    const rows = Array.from(
      { length: pieces },
      (_, i) =>
        `Person ${i},${i + 1} Main St,Springfield,IL,627${String(i % 100).padStart(2, '0')},0.78,first-class`,
    );
    const csv = ['name,street,city,state,zip,postage,class', ...rows].join('\n');
    const started = performance.now();
    await new PostageService(session, home).runBatch(csv, {
      out: join(home, 'batch.pdf'),
      media: 'env10',
    });
    return performance.now() - started;
  } finally {
    await session.close();
    await rm(home, { recursive: true, force: true });
  }
}
