/**
 * The pool's shard count lives in each shard's NVM (boxes/pool-growth.ts), not in the pool
 * process's word. Attacked as an insider driving the pool process would: telling a shard another
 * count at listen, forging the growth's tags, committing a growth an old shard never acked, and
 * taking an unused meter on two shards while the pool grows. Each is refused.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOfSerial, startPool } from '../../../server-mock/boxes/index';
import { BoxProcess } from '../../../server-mock/boxes/box-process';
import { socketPath } from '../../../server-mock/boxes/channel';
import { sealToBox } from '../../../server-mock/boxes/key-transport';
import type { ProcessName } from '../../../server-mock/boxes/box-types';
import { TEST_BOX_ENTRY, ceremony, expectBoxError } from './helpers';
import { domainKeyOf } from '../../helpers/boxes';

const quiet = { log: () => undefined };

/** Serials no shard has served, one the rule gives to each shard of `count`. */
function unusedSerials(count: number): string[] {
  const found: string[] = [];
  for (let n = 900_000_000; found.filter(Boolean).length < count; n++) {
    const serial = `VPM${n}`;
    const shard = shardOfSerial(serial, count);
    found[shard] ??= serial;
  }
  return found;
}

describe('the pool shard count in NVM', () => {
  let dir: string;
  let socketDir: string;
  let shares: string[];
  let domainKey: Buffer;
  const started: BoxProcess[] = [];

  /** A shard started by hand, as a pool process an insider wrote would start it. */
  async function shard(name: ProcessName): Promise<BoxProcess> {
    const box = new BoxProcess(name, dir, {
      ...quiet,
      entry: TEST_BOX_ENTRY,
      unlock: (hello) => sealToBox(hello.unlockKey, name, domainKey)!,
    });
    await box.start();
    started.push(box);
    return box;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vpm-pool-count-'));
    socketDir = join(dir, 'sockets');
    shares = await ceremony(dir);
    domainKey = await domainKeyOf(dir, shares);
    const pool = await startPool(dir, {
      ...quiet,
      shares,
      socketDir,
      shards: 2,
      entry: TEST_BOX_ENTRY,
    });
    expect(await pool.process('meter').call('poolStatus', {})).toEqual({ count: 2 });
    expect(await pool.process('meter-1').call('poolStatus', {})).toEqual({ count: 2 });
    await pool.close();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(started.map((b) => b.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a count at listen that is not the one in the shard’s NVM', async () => {
    const meter1 = await shard('meter-1');
    const error = await expectBoxError(
      meter1.call('listen', { path: socketPath(socketDir, 'meter-1'), shards: 3 }),
      'BAD_REQUEST',
    );
    expect(error.message).toMatch(/counts 2 shards in its NVM, not 3/);
    await meter1.stop();
  });

  it('refuses forged growth tags, and a commit without an ack from every old shard', async () => {
    const first = await shard('meter');
    const meter1 = await shard('meter-1');
    const forged = Buffer.alloc(32, 7).toString('base64');
    await expectBoxError(meter1.call('poolJoin', { to: 3, committed: forged }), 'BAD_REQUEST');
    await expectBoxError(meter1.call('poolAck', { to: 3, prepared: forged }), 'BAD_REQUEST');
    // Only the first shard leads; another cannot prepare or commit.
    await expectBoxError(meter1.call('poolPrepare', { to: 3 }), 'BAD_REQUEST');
    const { prepared } = await first.call<{ prepared: string }>('poolPrepare', { to: 3 });
    const noAck = await expectBoxError(
      first.call('poolCommit', { to: 3, acks: {} }),
      'BAD_REQUEST',
    );
    expect(noAck.message).toMatch(/no valid ack from shard meter-1/);
    // An ack made for another count, or by another shard's name, does not stand in.
    const { ack } = await meter1.call<{ ack: string }>('poolAck', { to: 3, prepared });
    await expectBoxError(
      first.call('poolCommit', { to: 3, acks: { 'meter-2': ack } }),
      'BAD_REQUEST',
    );
    // Nor may the first shard provision a shard outside the committed count.
    await expectBoxError(first.call('provisionShard', { box: 'meter-2' }), 'BAD_REQUEST');
    expect(await first.call('poolStatus', {})).toEqual({ count: 2, pending: 3 });
    expect(await meter1.call('poolStatus', {})).toEqual({ count: 2, pending: 3 });
    await Promise.all([first.stop(), meter1.stop()]);
  });

  it('takes no unused meter on any shard while the pool grows, and finishes the growth at the next start', async () => {
    // The previous test left both shards prepared for 3 (as a pool stopped half-way would).
    const [forShard0, forShard1] = unusedSerials(2) as [string, string];
    const first = await shard('meter');
    const meter1 = await shard('meter-1');
    // Held meters would go on; an unused one is refused by both, whichever rule a node applies.
    for (const [box, serial] of [
      [first, forShard0],
      [meter1, forShard1],
      [first, forShard1],
      [meter1, forShard0],
    ] as const) {
      const error = await expectBoxError(box.call('suspension', { serial }), 'BOX_UNAVAILABLE');
      expect(error.message).toMatch(/takes no new meter while the pool grows/);
    }
    await Promise.all([first.stop(), meter1.stop()]);
    // A start with another count is refused: the half-done growth is finished first.
    await expect(
      startPool(dir, { ...quiet, shares, socketDir, shards: 4, entry: TEST_BOX_ENTRY }),
    ).rejects.toThrow(/growing to 3 shards; start it with --shards 3/);
    const pool = await startPool(dir, {
      ...quiet,
      shares,
      socketDir,
      shards: 3,
      entry: TEST_BOX_ENTRY,
    });
    try {
      for (const name of ['meter', 'meter-1', 'meter-2'] as const)
        expect(await pool.process(name).call('poolStatus', {})).toEqual({ count: 3 });
      // Each unused meter is now taken by exactly one shard: the rule's, with 3.
      const [a, b, c] = unusedSerials(3) as [string, string, string];
      for (const [i, serial] of [a, b, c].entries())
        for (const name of ['meter', 'meter-1', 'meter-2'] as const) {
          const call = pool.process(name).call('suspension', { serial });
          if (name === (['meter', 'meter-1', 'meter-2'] as const)[i])
            await expect(call).resolves.toEqual({ suspension: null });
          else await expectBoxError(call, 'WRONG_SHARD');
        }
    } finally {
      await pool.close();
    }
  }, 60_000);
});
