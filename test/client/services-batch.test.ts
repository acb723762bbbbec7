/**
 * The batch pipeline of PostageService against a real data center: a CSV batch charged in
 * chunks (the next chunk bought while this one is encoded and drawn) becomes one PDF with every
 * piece charged once; a batch whose output fails after the first chunk leaves the purchase in
 * flight finished and recorded, so the resumed run prints all pieces without charging twice.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NO_KEYCHAIN } from '../../client/services/keychain';
import { PostageService, type Progress } from '../../client/services/postage-service';
import { SessionManager } from '../../client/services/session';
import { startTestDataCenter, type TestDataCenter } from '../helpers/datacenter';
import { pdfInfo } from './print/helpers';

let dc: TestDataCenter;
let home: string;
let session: SessionManager;

beforeAll(async () => {
  dc = await startTestDataCenter();
  home = await mkdtemp(join(tmpdir(), 'vpm-batch-'));
  session = new SessionManager(home, NO_KEYCHAIN, {
    server: dc.running.url,
    ca: join(dc.dir, 'tls', 'ca.pem'),
  });
  await session.signUp({
    username: 'batcher',
    password: 'correct horse battery',
    name: 'Batch Mailer',
    originZip: '10001',
  });
  await session.signIn('batcher', 'correct horse battery', false);
  await session.call((c) =>
    c.refill({
      amountCents: 100_000,
      cardNumber: '4242424242424242',
      idempotencyKey: 'batch-test-funds',
    }),
  );
}, 60_000);
afterAll(async () => {
  await session?.close();
  await dc?.close();
  await rm(home, { recursive: true, force: true });
});

function csv(pieces: number, street: string): string {
  const rows = Array.from(
    { length: pieces },
    (_, i) =>
      `Person ${i},${i + 1} ${street},Springfield,IL,627${String((i % 8) + 1).padStart(2, '0')},0.78,first-class`,
  );
  return ['name,street,city,state,zip,postage,class', ...rows].join('\n');
}

const account = () => session.call((c) => c.account());

describe('PostageService.runBatch()', () => {
  it('charges a 250-piece batch in chunks, each piece once, into one 250-page PDF', async () => {
    const before = await account();
    const progress: Progress[] = [];
    const out = join(home, 'batch.pdf');
    const result = await new PostageService(session, home).runBatch(
      csv(250, 'Main St'),
      { out, media: 'env10' },
      { onProgress: (p) => progress.push(p) },
    );
    expect(result).toMatchObject({ pieces: 250, charged: 250, pages: 250, pdfPath: out });
    const after = await account();
    expect(after.ascendingCents - before.ascendingCents).toBe(250 * 78);
    expect(result.balanceCents).toBe(after.balanceCents);
    const charging = progress.filter((p) => p.phase === 'charging').map((p) => p.done);
    const rendering = progress.filter((p) => p.phase === 'rendering').map((p) => p.done);
    expect(charging).toEqual([100, 200, 250]);
    expect(rendering).toEqual([100, 200, 250]);
    expect((await pdfInfo(out)).pages).toBe(250);
  }, 120_000);

  it('finishes the purchase in flight when the output fails, and the resumed run charges nothing twice', async () => {
    const before = await account();
    const text = csv(250, 'Elm St');
    const service = new PostageService(session, home);
    // The output path is a directory: the PDF cannot be written, after the first chunk is bought.
    await expect(service.runBatch(text, { out: home, media: 'env10' })).rejects.toThrow();
    const partial = await account();
    const paid = (partial.ascendingCents - before.ascendingCents) / 78;
    expect(paid).toBeGreaterThan(0);
    expect(paid).toBeLessThanOrEqual(200); // the chunk being drawn and at most the one bought ahead
    expect(paid % 100).toBe(0);

    const out = join(home, 'resumed.pdf');
    const resumed = await service.runBatch(text, { out, media: 'env10' }, { resume: true });
    expect(resumed).toMatchObject({ pieces: 250, charged: 250 - paid, pages: 250 });
    const after = await account();
    expect(after.ascendingCents - before.ascendingCents).toBe(250 * 78);
    expect((await pdfInfo(out)).pages).toBe(250);
  }, 120_000);
});
