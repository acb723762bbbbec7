/**
 * The box pool's hand-over when growing is cut off (boxes/pool.ts): the pool stops after the old
 * shard sealed a meter and stopped serving it, before the journal holds it; or after the journal
 * line, before the new shard imported it. The next start finishes the hand-over, and the meter
 * goes on from its last record on the new shard, with its money.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  shardOfSerial,
  startBoxes,
  startPool,
  type MailerAuth,
  type MeterRecord,
  type PoolOptions,
} from '../../../server-mock/boxes/index';
import { TEST_BOX_ENTRY, ceremony, mailerAuth, piece } from './helpers';

const quiet = { log: () => undefined };

describe('box pool hand-over', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-handover-'));
  const socketDir = join(dir, 'sockets');
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('finishes a hand-over cut off before its journal line or before the import, at the next start', async () => {
    const shares = await ceremony(dir);
    const pool = (shards: number, extra: Partial<PoolOptions> = {}) =>
      startPool(dir, { ...quiet, shares, socketDir, shards, entry: TEST_BOX_ENTRY, ...extra });
    const node = () =>
      startBoxes(dir, { ...quiet, shares, pool: socketDir, entry: TEST_BOX_ENTRY });
    // Meters on one shard, until one moves at 1 → 2 shards and one at 2 → 3.
    let running = await pool(1);
    let boxes = await node();
    const auth: MailerAuth = await mailerAuth(boxes);
    const meters: MeterRecord[] = [];
    const moves = (serial: string, from: number, to: number) =>
      shardOfSerial(serial, from) !== shardOfSerial(serial, to);
    while (
      !meters.some((m) => moves(m.serial, 1, 2)) ||
      !meters.some((m) => moves(m.serial, 2, 3))
    ) {
      const { record } = await boxes.steel.createMeter({
        accountId: auth.grant.mailerId,
        demo: false,
      });
      const { record: funded } = await boxes.meter.credit({
        requestId: randomUUID(),
        auth,
        record,
        amountCents: 900,
        credit: { kind: 'refill', refillId: 'refill' },
      });
      meters.push(funded);
    }
    await boxes.close();
    await running.close();

    for (const [shards, crashAfter] of [
      [2, 'export'],
      [3, 'journal'],
    ] as const) {
      await expect(pool(shards, { crashAfter })).rejects.toThrow(/test crash/);
      running = await pool(shards);
      boxes = await node();
      // Every meter dispenses from its last record, on whichever shard it lives now.
      for (const [i, record] of meters.entries()) {
        const { record: next } = await boxes.meter.dispense({
          requestId: randomUUID(),
          auth,
          record,
          pieces: [piece({ postageCents: 100 })],
        });
        expect(next.descendingCents).toBe(record.descendingCents - 100);
        meters[i] = next;
      }
      await boxes.close();
      await running.close();
    }
    const journal = readFileSync(join(dir, 'boxes', 'handover.log'), 'utf8');
    expect(journal).toMatch(/"step":"imported"/);
  }, 120_000);
});
