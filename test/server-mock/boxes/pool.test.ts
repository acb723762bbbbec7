/**
 * The box pool (boxes/pool.ts): meter-box shards reached over the TLS-PSK channel, routed by
 * serial; kill -9 of one shard fails its meters fast (BOX_UNAVAILABLE) while the other shard's
 * meters go on, and it serves again after the pool restarts it; growing the pool hands meters
 * over through the journal, and the old shard refuses them from then on.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  shardName,
  shardOfSerial,
  startBoxes,
  startPool,
  type BoxSet,
  type MailerAuth,
  type MeterRecord,
  type RunningPool,
} from '../../../server-mock/boxes/index';
import { RemoteBox } from '../../../server-mock/boxes/remote-box';
import { channelKey, socketPath } from '../../../server-mock/boxes/channel';
import { TEST_BOX_ENTRY, ceremony, expectBoxError, mailerAuth, piece } from './helpers';
import { domainKeyOf } from '../../helpers/boxes';

const quiet = { log: () => undefined };

describe('box pool', () => {
  let dir: string;
  let socketDir: string;
  let shares: string[];
  let pool: RunningPool;
  let node: BoxSet;
  /** Funded meters on shard 0 and on shard 1 (of 2). */
  const meters: MeterRecord[][] = [[], []];
  /** The mailer, signed in once: its grant holds on every node (one grant key). */
  let auth: MailerAuth;

  async function dispense(record: MeterRecord): Promise<MeterRecord> {
    return (
      await node.meter.dispense({
        requestId: randomUUID(),
        auth,
        record,
        pieces: [piece({ postageCents: 50 })],
      })
    ).record;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vpm-pool-'));
    socketDir = join(dir, 'sockets');
    shares = await ceremony(dir);
    pool = await startPool(dir, { ...quiet, shares, socketDir, shards: 2, entry: TEST_BOX_ENTRY });
    node = await startBoxes(dir, { ...quiet, shares, pool: socketDir, entry: TEST_BOX_ENTRY });
    auth = await mailerAuth(node);
    while (meters[0]!.length < 2 || meters[1]!.length < 2) {
      const { record } = await node.steel.createMeter({
        accountId: auth.grant.mailerId,
        demo: false,
      });
      const shard = shardOfSerial(record.serial, 2);
      if (meters[shard]!.length >= 2) continue;
      const funded = await node.meter.credit({
        requestId: randomUUID(),
        auth,
        record,
        amountCents: 1000,
        credit: { kind: 'refill', refillId: 'refill' },
      });
      meters[shard]!.push(funded.record);
    }
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await pool?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs only the stateless boxes on the node; each shard serves the meters of its serials', async () => {
    expect(Object.keys(node.pids()).sort()).toEqual(['auth', 'txn']);
    expect(node.status()).toMatchObject({ steel: 'up', meter: 'up', 'meter-1': 'up' });
    for (const shard of [0, 1]) {
      const record = meters[shard]![0]!;
      const next = await dispense(record);
      expect(next.counter).toBe(record.counter + 1);
      meters[shard]![0] = next;
    }
  });

  it('a shard refuses a meter another shard serves (WRONG_SHARD), so no two boxes serve one meter', async () => {
    const key = channelKey(await domainKeyOf(dir, shares));
    const wrong = new RemoteBox('meter-1', socketPath(socketDir, 'meter-1'), key);
    try {
      const error = await expectBoxError(
        wrong.call('suspension', { serial: meters[0]![0]!.serial }),
        'WRONG_SHARD',
      );
      expect(error.details).toMatchObject({ shard: 0, shards: 2 });
      // The control commands (hand-over, rewrap) are never served over the channel.
      await expectBoxError(wrong.call('listMeters', {}), 'BAD_REQUEST');
    } finally {
      wrong.close();
    }
  });

  it('kill -9 of one shard: its meters fail fast with BOX_UNAVAILABLE, the other shard goes on, and it serves again once restarted', async () => {
    pool.process('meter-1').kill('SIGKILL');
    await pool.process('meter-1').whenExited();
    const down = meters[1]![1]!;
    // Fails at once (the connection is refused while the pool restarts the shard), not by a timeout.
    const error = await expectBoxError(dispense(down), 'BOX_UNAVAILABLE');
    expect(error.message).toMatch(/try again/);
    meters[0]![1] = await dispense(meters[0]![1]!); // the other shard is unaffected
    await pool.ready('meter-1');
    const next = await dispense(down);
    expect(next.counter).toBe(down.counter + 1);
    meters[1]![1] = next;
  }, 30_000);

  it('growing to 3 shards hands meters over through the journal; the old shard refuses them after', async () => {
    const moves = (serial: string) => shardOfSerial(serial, 3) !== shardOfSerial(serial, 2);
    while (!meters.flat().some((r) => moves(r.serial))) {
      const { record } = await node.steel.createMeter({
        accountId: auth.grant.mailerId,
        demo: false,
      });
      meters[shardOfSerial(record.serial, 2)]!.push(
        (
          await node.meter.credit({
            requestId: randomUUID(),
            auth,
            record,
            amountCents: 500,
            credit: { kind: 'refill', refillId: 'refill' },
          })
        ).record,
      );
    }
    await node.close();
    await pool.close();
    const before = meters.flat().map((r) => r.serial);
    const moving = before.filter(moves);
    pool = await startPool(dir, { ...quiet, shares, socketDir, shards: 3, entry: TEST_BOX_ENTRY });
    node = await startBoxes(dir, { ...quiet, shares, pool: socketDir, entry: TEST_BOX_ENTRY });
    expect(pool.handedOver).toBe(moving.length);
    const journal = readFileSync(join(dir, 'boxes', 'handover.log'), 'utf8');
    for (const serial of moving) expect(journal).toContain(`"serial":"${serial}"`);
    // Every meter still dispenses from its last record, wherever it lives now.
    for (const shard of [0, 1])
      for (const [i, record] of meters[shard]!.entries())
        meters[shard]![i] = await dispense(record);
    const serial = moving[0]!;
    const key = channelKey(await domainKeyOf(dir, shares));
    const stale = new RemoteBox(
      'old',
      socketPath(socketDir, shardName(shardOfSerial(serial, 2))),
      key,
    );
    try {
      const error = await expectBoxError(stale.call('recover', { serial }), 'WRONG_SHARD');
      expect(error.details).toMatchObject({ shard: shardOfSerial(serial, 3) });
    } finally {
      stale.close();
    }
    await expect(
      startPool(dir, { ...quiet, shares, socketDir: join(dir, 's2'), shards: 2 }),
    ).rejects.toThrow(/does not shrink/);
  }, 60_000);
});
