/**
 * The sign-on throttle keeps its counts in the data center's database (a real SQLite file here),
 * so a restart of the data center forgets no failure and no wait.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SignOnThrottle } from '../../../server-mock/function/sign-on-throttle';
import { SqliteStorage } from '../../../server-mock/storage/sqlite-storage';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-throttle-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the sign-on throttle', () => {
  it('keeps a guessing source waiting across a restart of the data center', async () => {
    const file = join(dir, 'datacenter.db');
    let clock = 1_800_000_000_000;
    const now = () => clock;
    const before = new SqliteStorage(file);
    const throttle = new SignOnThrottle(before, { now });
    for (let i = 0; i < 3; i++) await throttle.fail('203.0.113.7', 'ann');
    expect((await throttle.check('203.0.113.7', 'ann')).waitMs).toBe(1000);
    await before.close();

    const after = new SqliteStorage(file);
    const restarted = new SignOnThrottle(after, { now });
    expect((await restarted.check('203.0.113.7', 'ann')).waitMs).toBe(1000);
    // Another source is not held back.
    expect((await restarted.check('198.51.100.2', 'ann')).waitMs).toBe(0);
    clock += 1000;
    expect((await restarted.check('203.0.113.7', 'ann')).waitMs).toBe(0);
    // The next failure doubles the wait; the right password then clears the pair's count.
    expect((await restarted.fail('203.0.113.7', 'ann')).waitMs).toBe(2000);
    await restarted.succeed('203.0.113.7', 'ann');
    expect((await restarted.check('203.0.113.7', 'ann')).waitMs).toBe(0);
    // A day later every count is forgotten.
    clock += 24 * 3600_000;
    expect((await restarted.fail('203.0.113.7', 'ann')).failures).toBe(1);
    await after.close();
  });

  it('clears a count after the right password only when the sign-on found one: a usual sign-on writes nothing', async () => {
    const storage = new SqliteStorage(join(dir, 'clears.db'));
    const clears: string[] = [];
    // The real storage, with its clears counted.
    const counts = {
      signOnFailures: storage.signOnFailures.bind(storage),
      addSignOnFailures: storage.addSignOnFailures.bind(storage),
      clearSignOnFailures: async (key: string) => {
        clears.push(key);
        await storage.clearSignOnFailures(key);
      },
    };
    const throttle = new SignOnThrottle(counts, { now: () => 1_800_000_000_000 });
    const usual = await throttle.check('203.0.113.7', 'bea');
    expect(usual).toEqual({ waitMs: 0, counted: false });
    await throttle.succeed('203.0.113.7', 'bea', usual);
    expect(clears).toEqual([]);

    await throttle.fail('203.0.113.7', 'bea');
    // Another source's failure is not this pair's to clear.
    await throttle.fail('198.51.100.2', 'bea');
    const after = await throttle.check('203.0.113.7', 'bea');
    expect(after).toEqual({ waitMs: 0, counted: true });
    await throttle.succeed('203.0.113.7', 'bea', after);
    expect(clears).toEqual(['pair\n203.0.113.7\nbea']);
    expect(await throttle.check('203.0.113.7', 'bea')).toEqual({ waitMs: 0, counted: false });
    expect((await throttle.check('198.51.100.2', 'bea')).counted).toBe(true);
    await storage.close();
  });
});
