/**
 * The postal authority as outside witness, attacked as a data-center operator with file access
 * would: the whole data directory (database and boxes together) restored from an older copy, and
 * the postal authority cut off. Real processes (`vpm postal start`, `vpm datacenter start
 * --postal`), real files, real HTTPS.
 */
import { cp, rename, rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import type * as Api from '../../shared/api/schemas';
import { vpmInProcess as vpm } from '../helpers/cli';
import { eventually, setUpPostal, startListening, type PostalSetup } from '../helpers/postal';

const piece = (postageCents = 78): Api.PieceSpec => ({
  idempotencyKey: `k-${randomUUID()}`,
  postageCents,
  mailClass: 'first-class',
  destinationZip: '10001',
});

const refused = async (p: Promise<unknown>): Promise<{ code: string; message: string }> => {
  try {
    await p;
  } catch (error) {
    return error as { code: string; message: string };
  }
  throw new Error('expected a refusal');
};

let setup: PostalSetup | undefined;
afterEach(async () => {
  await setup?.stop();
  setup = undefined;
});

describe('postal authority as outside witness', () => {
  it('refuses to dispense from a restored copy of the whole data directory, with alerts on both sides', async () => {
    const s = (setup = await setUpPostal());
    await s.startPostal();
    await s.startDataCenter();
    const client = await s.fundedMailer('ann', 5000);
    const token = client.token as string;
    await client.dispense({ pieces: [piece()] });
    await client.dispense({ pieces: [piece()] });
    await eventually(() => s.postalPieces() === 2, 'the post holds the first two pieces');

    // The operator keeps a copy of the whole directory, then the data center prints on.
    await s.dc?.stop();
    await cp(s.dir, `${s.dir}.copy`, { recursive: true });
    await s.startDataCenter();
    const later = s.client(token);
    const after = await later.dispense({ pieces: [piece(), piece()] });
    await eventually(() => s.postalPieces() === 4, 'the post holds all four pieces');

    // Restore the old copy, database and boxes together, and start again.
    await s.dc?.stop();
    await rm(s.dir, { recursive: true });
    await rename(`${s.dir}.copy`, s.dir);
    const dc = await s.startDataCenter();
    await eventually(
      () => /fraud-alert .*ROLLBACK_DETECTED/.test(dc.output()),
      () => `the start check: ${dc.output()}`,
    );
    const restored = s.client(token);
    const balanceBefore = (await restored.account()).balanceCents;
    const e = await refused(restored.dispense({ pieces: [piece()] }));
    expect(e.code).toBe('METER_INTEGRITY');
    expect(e.message).toMatch(/restored copy/);
    expect((await restored.account()).balanceCents).toBe(balanceBefore);
    expect(balanceBefore).toBeGreaterThan(after.balanceCents); // the old state, indeed
    expect(s.postalPieces()).toBe(4);

    const dcAlerts = await vpm(['datacenter', 'alerts', '--data', s.dir]);
    expect(dcAlerts.stdout).toMatch(/ROLLBACK_DETECTED: the postal authority holds report 3/);
    const postAlerts = await vpm(['postal', 'alerts', '--data', s.pdir]);
    expect(postAlerts.stdout).toMatch(/ROLLBACK: box [0-9a-f]{16} started with state at report 2/);
  }, 300_000);

  it('stops at the window edge while the postal authority is unreachable, with "try again", and resumes when it returns', async () => {
    const s = (setup = await setUpPostal());
    const postal = await s.startPostal();
    await s.startDataCenter(['--postal-window-pieces', '2']);
    const client = await s.fundedMailer('ann', 5000);
    await client.dispense({ pieces: [piece()] });
    await eventually(() => s.postalPieces() === 1, 'the post holds the first piece');

    await postal.stop();
    await client.dispense({ pieces: [piece()] });
    await client.dispense({ pieces: [piece()] });
    const e = await refused(client.dispense({ pieces: [piece()] }));
    expect(e.code).toBe('SERVICE_UNAVAILABLE');
    expect(e.message).toMatch(/postal authority.*try again/);
    const balance = (await client.account()).balanceCents;
    expect(balance).toBe(5000 - 3 * 78);

    // The post comes back (same address): the outbox is sent and dispensing resumes.
    await s.startPostal(postal.port);
    await eventually(() => s.postalPieces() === 3, 'the outbox reaches the post');
    let issued: Api.DispenseResponse | undefined;
    await eventually(async () => {
      issued = await client.dispense({ pieces: [piece()] }).catch(() => undefined);
      return issued !== undefined;
    }, 'dispensing resumes');
    expect(issued?.balanceCents).toBe(5000 - 4 * 78);
  }, 180_000);

  it('says loudly at start that rollback protection is off without --postal', async () => {
    const s = (setup = await setUpPostal({ postal: false }));
    const dc = await startListening([
      'datacenter',
      'start',
      '--data',
      s.dir,
      '--port',
      '0',
      '--share',
      s.sharesFile,
    ]);
    try {
      expect(dc.output()).toMatch(/WARNING: rollback protection is OFF/);
      expect(dc.output()).toMatch(/--postal URL --postal-ca FILE/);
    } finally {
      await dc.stop();
    }
  });
});
