/**
 * Crash safety (DESIGN.md, "Freshness and crash safety"; issue 5 Rules): kill -9 the meter box,
 * and separately the whole data center process, at a random moment during concurrent dispenses;
 * restart; then no funds are lost, every indicium a client received is recorded, no two pieces
 * share a meter and ascending register value, and every meter still dispenses (the recovery path
 * from the meter box journal).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BENCH_CLIENT } from '../../../app/bench-client';
import type { BoxSet } from '../../../server-mock/boxes/index';
import { initDataCenter } from '../../../server-mock/index';
import {
  closeMailers,
  makeMailers,
  readCa,
  reconnect,
  runLoad,
  settle,
  sleep,
  spawnDataCenter,
  spec,
  type Mailer,
} from '../../../bench/harness';
import { startTestDataCenter } from '../../helpers/datacenter';
import { duplicateAscending, ledgerProblems, openDb, unrecorded } from './support';

const cleanup: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const done of cleanup.reverse()) await done();
});

const randomMs = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

async function expectConsistent(dir: string, received: string[], mailers: Mailer[]) {
  const db = openDb(dir);
  try {
    expect(ledgerProblems(db)).toEqual([]);
    expect(duplicateAscending(db)).toEqual([]);
    expect(unrecorded(db, received)).toEqual([]);
  } finally {
    db.close();
  }
  for (const m of mailers) {
    const before = await m.client.account();
    const { balanceCents } = await m.client.dispense({ pieces: [spec(1)] });
    expect(balanceCents).toBe(before.balanceCents - 1);
  }
}

describe('DataCenter under crashes', () => {
  it('loses nothing when the meter box is killed mid-dispense and restarted', async () => {
    const t = await startTestDataCenter();
    cleanup.push(() => t.close());
    const mailers = await makeMailers(BENCH_CLIENT, t.running.url, t.caPem, 3, 100_000, 'boxkill');
    cleanup.push(() => closeMailers(mailers));
    const boxes = t.running.boxes as BoxSet;
    const pid = boxes.pids().meter as number;

    let stop!: () => void;
    const load = runLoad(mailers, 4, new Promise<void>((r) => (stop = r)));
    await sleep(randomMs(200, 900));
    process.kill(pid, 'SIGKILL');
    await sleep(150);
    await boxes.restart('meter');
    expect(boxes.pids().meter).not.toBe(pid);
    await sleep(300);
    stop();
    const outcome = await load;
    await settle(outcome, mailers);
    expect(outcome.ok).toBeGreaterThan(0);
    await expectConsistent(t.dir, outcome.received, mailers);
  });

  // Two data center processes start here (boxes, unlock, TLS): slow on a loaded 2-core machine.
  it(
    'loses nothing when the data center process is killed at a random moment and restarted',
    { timeout: 180_000 },
    async () => {
      const dir = await mkdtemp(join(tmpdir(), 'vpm-crash-'));
      cleanup.push(() => rm(dir, { recursive: true, force: true }));
      const { shares } = await initDataCenter(dir);
      const caPem = await readCa(dir);
      let dc = await spawnDataCenter(dir, { shares });
      cleanup.push(() => dc.stop());
      let mailers = await makeMailers(BENCH_CLIENT, dc.url, caPem, 3, 100_000, 'dckill');

      let stop!: () => void;
      const load = runLoad(mailers, 4, new Promise<void>((r) => (stop = r)));
      await sleep(randomMs(200, 1200));
      await dc.crash();
      await sleep(100);
      stop();
      const outcome = await load;
      await closeMailers(mailers);

      dc = await spawnDataCenter(dir, { shares });
      mailers = reconnect(mailers, dc.url, caPem);
      cleanup.push(() => closeMailers(mailers));
      const retried = await settle(outcome, mailers);
      expect(retried.refused).toEqual({});
      await expectConsistent(dir, outcome.received, mailers);
    },
  );
});
