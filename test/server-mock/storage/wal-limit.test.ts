/**
 * The threaded SQLite writer keeps the write-ahead log bounded under steady load: the
 * checkpointer's PASSIVE checkpoints copy it back but never rewind it while writes keep coming,
 * so without the writer's RESTART past a limit (SqliteStorage.restartLogPast) it grows without
 * end. Real threads, a real file.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteStorage } from '../../../server-mock/storage/sqlite-storage';
import { openThreadedStorage } from '../../../server-mock/storage/threaded-storage';
import { mailerRow } from '../../helpers/storage-rows';

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
});
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** 16 writers, `count` writes in all, without a pause; the largest write-ahead log seen. */
async function steadyLoad(walLimitBytes: number, count: number) {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-wal-'));
  dirs.push(dir);
  const file = join(dir, 'datacenter.db');
  const storage = await openThreadedStorage(file, { walLimitBytes });
  let largest = 0;
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < count) {
        await storage.createMailer(mailerRow(`m${next++}`));
        largest = Math.max(largest, statSync(`${file}-wal`).size);
      }
    }),
  );
  await storage.close();
  const reader = new SqliteStorage(file);
  const found = await Promise.all(
    [0, count >> 1, count - 1].map((i) => reader.getMailer(`mailer-m${i}`)),
  );
  await reader.close();
  return { largest, found: found.map((m) => m?.id) };
}

/** The limit of the single-connection tests below. */
const LIMIT = 64 * 1024;

/** A storage without a checkpointer whose log has just passed `limit` (mailers w0, w1, …). */
async function logPast(limit: number) {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-wal-'));
  dirs.push(dir);
  const file = join(dir, 'datacenter.db');
  const storage = new SqliteStorage(file, { autoCheckpoint: false });
  let written = 0;
  do await storage.createMailer(mailerRow(`w${written++}`));
  while (statSync(`${file}-wal`).size < limit);
  return { file, storage, written };
}

describe('threaded SQLite writer', () => {
  it('rewinds the write-ahead log past its limit, so steady writes keep it bounded', async () => {
    const limit = 256 * 1024;
    const bounded = await steadyLoad(limit, 3000);
    const unbounded = await steadyLoad(1024 ** 3, 3000);
    // Every write is there either way; only the log's size differs.
    expect(bounded.found).toEqual(['mailer-m0', 'mailer-m1500', 'mailer-m2999']);
    expect(unbounded.found).toEqual(['mailer-m0', 'mailer-m1500', 'mailer-m2999']);
    expect(bounded.largest).toBeLessThan(2 * limit);
    expect(unbounded.largest).toBeGreaterThan(4 * limit);
  }, 60_000);

  it('rewinds once per limit reached, not at every commit after it: the log file is cut back to nothing', async () => {
    const { file, storage, written } = await logPast(LIMIT);
    let n = written;
    expect(storage.restartLogPast(LIMIT)).toBe(true);
    expect(statSync(`${file}-wal`).size).toBe(0);
    // The next commits write a log far under the limit: nothing to rewind.
    await storage.createMailer(mailerRow(`w${n++}`));
    expect(statSync(`${file}-wal`).size).toBeLessThan(LIMIT);
    expect(storage.restartLogPast(LIMIT)).toBe(false);
    expect((await storage.getMailer('mailer-w0'))?.id).toBe('mailer-w0');
    await storage.close();
  });

  it('does not wait for a reader on the log: it leaves the log whole and tries again 10 ms later, then after a pause that doubles to a second', async () => {
    const { file, storage, written } = await logPast(LIMIT);
    // The clock is set by hand: restartLogPast reads Date.now().
    vi.useFakeTimers({ toFake: ['Date'] });
    const T = Date.UTC(2026, 11, 2);
    const at = (ms: number) => {
      vi.setSystemTime(T + ms);
      return storage.restartLogPast(LIMIT);
    };
    // Another connection in the middle of a read of the log.
    const reader = new Database(file);
    const read = () => {
      reader.prepare('BEGIN').run();
      reader.prepare('SELECT count(*) FROM mailers').get();
    };
    read();
    expect(at(0)).toBe(false);
    reader.prepare('COMMIT').run();
    // The reader is gone, but the next try waits its 10 ms.
    expect(at(9)).toBe(false);
    expect(statSync(`${file}-wal`).size).toBeGreaterThanOrEqual(LIMIT);
    expect(at(10)).toBe(true);
    expect(statSync(`${file}-wal`).size).toBe(0);

    // A long reader: the pauses between tries double, to a second at most.
    let n = written;
    do await storage.createMailer(mailerRow(`w${n++}`));
    while (statSync(`${file}-wal`).size < LIMIT);
    read();
    let t = 10_000;
    for (const pause of [10, 20, 40, 80, 160, 320, 640, 1000, 1000]) {
      expect(at(t)).toBe(false);
      t += pause;
    }
    reader.prepare('COMMIT').run();
    reader.close();
    expect(at(t - 1)).toBe(false);
    expect(at(t)).toBe(true);
    expect(statSync(`${file}-wal`).size).toBe(0);
    vi.useRealTimers();
    const last = `mailer-w${n - 1}`;
    expect((await storage.getMailer(last))?.id).toBe(last);
    await storage.close();
  });
});
