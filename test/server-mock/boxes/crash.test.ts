/**
 * Crash safety (DESIGN.md "Freshness and crash safety"): kill -9 the meter box in the middle of
 * a command, restart it, and reconcile as the data center does (retry → FRESHNESS_MISMATCH with
 * journaled → recover → store the journaled record). The outcome is one consistent state and
 * never two indicia with the same ascending register value. Also: key period rotation.
 */
import { randomUUID } from 'node:crypto';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BoxError,
  recordDigest,
  type BoxSet,
  MAC_PERIOD_WINDOW,
  type IssuedIndicium,
  type MailerAuth,
  type MeterRecord,
} from '../../../server-mock/boxes/index';
import {
  expectBoxError,
  freshBoxes,
  fundedMeter,
  piece,
  type Fixture,
  mailerAuth,
  signIn,
} from './helpers';

let fx: Fixture;
beforeAll(async () => {
  fx = await freshBoxes();
});
afterAll(async () => {
  await fx.dispose();
});

/** What the data center does with a dispense whose answer it may have lost. */
async function dispenseOrRecover(
  boxes: BoxSet,
  stored: MeterRecord,
  requestId: string,
): Promise<{ record: MeterRecord; indicia: IssuedIndicium[]; recovered: boolean }> {
  try {
    const result = await boxes.meter.dispense({
      auth: await mailerAuth(boxes),
      requestId,
      record: stored,
      pieces: [piece(), piece()],
    });
    return { ...result, recovered: false };
  } catch (error) {
    if (
      !(error instanceof BoxError) ||
      error.code !== 'FRESHNESS_MISMATCH' ||
      error.details?.journaled !== true
    )
      throw error;
    const journal = await boxes.meter.recover({ serial: stored.serial });
    expect(journal?.previousDigest).toBe(recordDigest(stored));
    if (journal?.kind !== 'dispense') throw new Error('the journal holds no dispense');
    return { record: journal.record, indicia: journal.indicia, recovered: true };
  }
}

const logSize = (): number => statSync(join(fx.dir, 'boxes', 'meter', 'state.log')).size;

async function waitFor(condition: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!condition()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('MeterBox crash safety', () => {
  it('after a kill -9 once the NVM is written but before the answer, the journaled record and indicia are recovered', async () => {
    const stored = await fundedMeter(fx.boxes, 10_000);
    await fx.boxes.restart('meter', { env: { VPM_BOX_TEST_PAUSE: 'after-commit' } });
    const before = logSize();
    const requestId = randomUUID();
    const lost = fx.boxes.meter.dispense({
      auth: await mailerAuth(fx.boxes),
      requestId,
      record: stored,
      pieces: [piece(), piece()],
    });
    await waitFor(() => logSize() > before);
    process.kill(fx.boxes.pids().meter!, 'SIGKILL');
    await expectBoxError(lost, 'BOX_UNAVAILABLE');
    await fx.boxes.restart('meter');
    const outcome = await dispenseOrRecover(fx.boxes, stored, randomUUID());
    expect(outcome.recovered).toBe(true);
    expect(outcome.record.counter).toBe(stored.counter + 1);
    expect((await fx.boxes.meter.recover({ serial: stored.serial }))?.requestId).toBe(requestId);
    const next = await fx.boxes.meter.dispense({
      auth: await mailerAuth(fx.boxes),
      requestId: randomUUID(),
      record: outcome.record,
      pieces: [piece()],
    });
    const ascending = [...outcome.indicia, ...next.indicia].map((i) => i.ascendingCents);
    expect(new Set(ascending).size).toBe(ascending.length);
  });

  it('after a kill -9 before the NVM is written, nothing happened and the same record dispenses', async () => {
    const stored = await fundedMeter(fx.boxes, 10_000);
    await fx.boxes.restart('meter', { env: { VPM_BOX_TEST_PAUSE: 'before-commit' } });
    const lost = fx.boxes.meter.dispense({
      auth: await mailerAuth(fx.boxes),
      requestId: randomUUID(),
      record: stored,
      pieces: [piece()],
    });
    await new Promise((r) => setTimeout(r, 200));
    process.kill(fx.boxes.pids().meter!, 'SIGKILL');
    await expectBoxError(lost, 'BOX_UNAVAILABLE');
    await fx.boxes.restart('meter');
    const outcome = await dispenseOrRecover(fx.boxes, stored, randomUUID());
    expect(outcome.recovered).toBe(false);
    expect(outcome.indicia.map((i) => i.ascendingCents)).toEqual([
      stored.ascendingCents + 73,
      stored.ascendingCents + 146,
    ]);
  });

  it('after kills at random moments, the recovered history has unique ascending registers and balances', async () => {
    let stored = await fundedMeter(fx.boxes, 100_000);
    const auth = await mailerAuth(fx.boxes);
    const released: IssuedIndicium[] = [];
    for (let round = 0; round < 3; round++) {
      const inflight = [0, 1, 2].map(() => randomUUID());
      // several commands in flight for the same record: only the first can win
      const calls = inflight.map((requestId) =>
        fx.boxes.meter
          .dispense({ auth, requestId, record: stored, pieces: [piece()] })
          .catch((e: unknown) => e),
      );
      await new Promise((r) => setTimeout(r, Math.floor(Math.random() * 15)));
      process.kill(fx.boxes.pids().meter!, 'SIGKILL');
      const answers = await Promise.all(calls);
      const won = answers.find(
        (a): a is { record: MeterRecord; indicia: IssuedIndicium[] } => !(a instanceof Error),
      );
      await fx.boxes.restart('meter');
      if (won) {
        stored = won.record;
        released.push(...won.indicia);
      } else {
        const outcome = await dispenseOrRecover(fx.boxes, stored, randomUUID());
        stored = outcome.record;
        released.push(...outcome.indicia);
      }
    }
    const ascending = released.map((i) => i.ascendingCents);
    expect(new Set(ascending).size).toBe(ascending.length);
    expect(stored.ascendingCents + stored.descendingCents).toBe(stored.creditedCents);
    expect(Math.max(...ascending)).toBe(stored.ascendingCents);
  });

  it('after a kill -9 in the middle of a long queue (worked on in slices), every meter goes on from what the box answered or journaled', async () => {
    // Many meters' commands arrive in one pipe write; the box works on them in slices, each
    // appended to the NVM and answered after its own fsync. Killed part-way, some meters were
    // answered, some appended and not answered, some never reached: each must go on.
    // Killed as soon as the first answers are out (round 0) or a little later (round 1).
    await killMidQueue([0, 2]);
  });

  it('with the NVM log folded into a snapshot after every fsync, kills at random moments lose no answered commit', async () => {
    // Each fold renames the log, appends to a new one and writes the snapshot on the thread
    // pool: the kills land before, during and after those steps.
    await killMidQueue(
      Array.from({ length: 6 }, () => Math.floor(Math.random() * 8)),
      { VPM_BOX_COMPACT_BYTES: '1' },
    );
    expect(fx.logs.join('\n')).not.toMatch(/tamper/i);
    await fx.boxes.restart('meter');
  });
});

/**
 * Sends one dispense for each of 32 meters at once and kill -9s the meter box after the first
 * answer and `delays[round]` ms more, each round; restarts it (with `env`), reconciles as the
 * data center does, and checks that every meter goes on from what it answered or journaled.
 */
async function killMidQueue(delays: number[], env?: Record<string, string>): Promise<void> {
  await fx.boxes.restart('meter', env ? { env } : undefined);
  const auth = await mailerAuth(fx.boxes);
  const meters: MeterRecord[] = [];
  for (let i = 0; i < 32; i++) meters.push(await fundedMeter(fx.boxes, 10_000));
  const released = new Map<string, IssuedIndicium[]>();
  for (const delay of delays) {
    const answers = meters.map((record) =>
      fx.boxes.meter
        .dispense({ auth, requestId: randomUUID(), record, pieces: [piece(), piece()] })
        .catch((e: unknown) => e),
    );
    await Promise.race(answers);
    if (delay > 0) await new Promise((r) => setTimeout(r, delay));
    process.kill(fx.boxes.pids().meter!, 'SIGKILL');
    const settled = await Promise.all(answers);
    await fx.boxes.restart('meter', env ? { env } : undefined);
    for (const [i, answer] of settled.entries()) {
      const stored = meters[i] as MeterRecord;
      let next: { record: MeterRecord; indicia: IssuedIndicium[] };
      if (answer instanceof Error) {
        expect((answer as BoxError).code).toBe('BOX_UNAVAILABLE');
        next = await dispenseOrRecover(fx.boxes, stored, randomUUID());
      } else next = answer as { record: MeterRecord; indicia: IssuedIndicium[] };
      meters[i] = next.record;
      released.set(stored.serial, [...(released.get(stored.serial) ?? []), ...next.indicia]);
    }
  }
  for (const record of meters) {
    // The box takes the record it answered or journaled last: no meter is left behind.
    const last = await fx.boxes.meter.dispense({
      auth,
      requestId: randomUUID(),
      record,
      pieces: [piece()],
    });
    const ascending = [...(released.get(record.serial) ?? []), ...last.indicia].map(
      (i) => i.ascendingCents,
    );
    expect(new Set(ascending).size).toBe(ascending.length);
    expect(ascending).toHaveLength(2 * delays.length + 1);
    expect(last.record.ascendingCents + last.record.descendingCents).toBe(
      last.record.creditedCents,
    );
  }
}

describe('MeterBox key periods', () => {
  /** Moves the meter and authentication boxes' clocks; answers a grant valid at that time. */
  async function clockAt(time: Date | undefined): Promise<MailerAuth> {
    const env = time ? { VPM_BOX_CLOCK: time.toISOString() } : undefined;
    await fx.boxes.restart('meter', { env });
    await fx.boxes.restart('auth', { env });
    return signIn(fx.boxes, (await mailerAuth(fx.boxes)).grant.mailerId);
  }

  it('verifies records MACed in an older period and MACs new ones in the current period', async () => {
    const stored = await fundedMeter(fx.boxes, 1_000);
    const later = new Date();
    later.setUTCDate(1);
    later.setUTCMonth(later.getUTCMonth() + 1);
    const auth = await clockAt(later);
    const next = await fx.boxes.meter.dispense({
      auth,
      requestId: randomUUID(),
      record: stored,
      pieces: [piece()],
    });
    expect(next.record.macPeriod).toBe(later.toISOString().slice(0, 7));
    expect(next.record.macPeriod).not.toBe(stored.macPeriod);
    await clockAt(undefined);
  });

  it('re-MACs a dormant record past the window through remac(), with no suspension, and refuses any other record that old', async () => {
    const dormant = await fundedMeter(fx.boxes, 1_000);
    const { record: untouched } = await fx.boxes.steel.createMeter({
      accountId: (await mailerAuth(fx.boxes)).grant.mailerId,
      demo: false,
    });
    const muchLater = new Date();
    muchLater.setUTCDate(1);
    muchLater.setUTCMonth(muchLater.getUTCMonth() + MAC_PERIOD_WINDOW + 1);
    const auth = await clockAt(muchLater);
    const expired = await expectBoxError(
      fx.boxes.meter.dispense({
        auth,
        requestId: randomUUID(),
        record: dormant,
        pieces: [piece()],
      }),
      'RECORD_MAC_EXPIRED',
    );
    expect(expired.details).toMatchObject({ serial: dormant.serial });
    expect((await fx.boxes.meter.suspension({ serial: dormant.serial })).suspension).toBeNull();

    const { record: fresh } = await fx.boxes.meter.remac({ record: dormant });
    expect(fresh).toMatchObject({
      macPeriod: muchLater.toISOString().slice(0, 7),
      counter: dormant.counter + 1,
      descendingCents: dormant.descendingCents,
      creditedCents: dormant.creditedCents,
      accountId: dormant.accountId,
    });
    expect(await fx.boxes.meter.recover({ serial: dormant.serial })).toMatchObject({
      kind: 'remac',
      previousDigest: recordDigest(dormant),
      record: fresh,
    });
    // the old record is spent: it is now only the journaled predecessor
    const again = await expectBoxError(
      fx.boxes.meter.remac({ record: dormant }),
      'FRESHNESS_MISMATCH',
    );
    expect(again.details).toMatchObject({ journaled: true });
    const spent = await fx.boxes.meter.dispense({
      auth,
      requestId: randomUUID(),
      record: fresh,
      pieces: [piece()],
    });
    expect(spent.record.descendingCents).toBe(dormant.descendingCents - 73);

    // A meter never used keeps its first record: re-MACed as it is, still its first use.
    const { record: first } = await fx.boxes.meter.remac({ record: untouched });
    expect(first).toMatchObject({ counter: 0, macPeriod: muchLater.toISOString().slice(0, 7) });
    const credited = await fx.boxes.meter.credit({
      auth,
      requestId: randomUUID(),
      record: first,
      amountCents: 10,
      credit: { kind: 'refill', refillId: 'refill' },
    });
    expect(credited.record.counter).toBe(1);

    // Any other record is not the box's to re-MAC: an altered one is a MAC failure (and suspends).
    await expectBoxError(
      fx.boxes.meter.remac({ record: { ...spent.record, descendingCents: 5_000 } }),
      'METER_RECORD_BAD_MAC',
    );
    expect((await fx.boxes.meter.suspension({ serial: dormant.serial })).suspension).toMatchObject({
      code: 'METER_RECORD_BAD_MAC',
    });
    await clockAt(undefined);
  });
});
