/**
 * The threaded SQLite writer keeps the write-ahead log bounded under steady load: the
 * checkpointer's PASSIVE checkpoints copy it back but never rewind it while writes keep coming,
 * so without the writer's RESTART past a limit (SqliteStorage.restartLogPast) it grows without
 * end. Real threads, a real file.
 */
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { SqliteStorage } from '../../../server-mock/storage/sqlite-storage';
import { checkpointers, openThreadedStorage } from '../../../server-mock/storage/threaded-storage';
import { mailerRow } from '../../helpers/storage-rows';

const dirs: string[] = [];
afterEach(() => {
  vi.useRealTimers();
});
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/**
 * 16 writers, `count` writes in all, without a pause; the largest write-ahead log seen. The
 * checkpointer runs every `checkpointIntervalMs`.
 */
async function steadyLoad(walLimitBytes: number, count: number, checkpointIntervalMs: number) {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-wal-'));
  dirs.push(dir);
  const file = join(dir, 'datacenter.db');
  const storage = await openThreadedStorage(file, { walLimitBytes, checkpointIntervalMs });
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

/**
 * How many times the log has been started over: the checkpoint sequence number in the log file's
 * header (big-endian at byte 12, SQLite's file format), which each start over counts up.
 */
function logStarts(file: string): number {
  const fd = openSync(`${file}-wal`, 'r');
  try {
    const header = Buffer.alloc(16);
    readSync(fd, header, 0, 16, 0);
    return header.readUInt32BE(12);
  } finally {
    closeSync(fd);
  }
}

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
    const bounded = await steadyLoad(limit, 6000, 5);
    // What the same writes put in the log: no limit, and no checkpoint in the run.
    const written = await steadyLoad(1024 ** 3, 6000, 60_000);
    // Every write is there either way; only the log's size differs.
    expect(bounded.found).toEqual(['mailer-m0', 'mailer-m3000', 'mailer-m5999']);
    expect(written.found).toEqual(['mailer-m0', 'mailer-m3000', 'mailer-m5999']);
    // Bounded by the limit and what is written between two of the checkpointer's counts.
    expect(bounded.largest).toBeLessThan(8 * limit);
    expect(written.largest).toBeGreaterThan(4 * bounded.largest);
  }, 60_000);

  it('starts a new checkpointer when its thread stops, so the log stays bounded after it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vpm-wal-'));
    dirs.push(dir);
    const file = join(dir, 'datacenter.db');
    const limit = 256 * 1024;
    const said = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const storage = await openThreadedStorage(file, {
      walLimitBytes: limit,
      checkpointIntervalMs: 5,
    });
    try {
      const first = checkpointers.get(storage);
      expect(first).toBeDefined();
      await first!.terminate(); // as a crash of the thread would
      await vi.waitFor(() => expect(checkpointers.get(storage)).not.toBe(first), {
        timeout: 5000,
      });
      // One that stops soon after it started is replaced after twice the pause.
      const second = checkpointers.get(storage);
      await second!.terminate();
      await vi.waitFor(() => expect(checkpointers.get(storage)).not.toBe(second), {
        timeout: 5000,
      });
      const lines = said.mock.calls.map(([text]) => String(text)).join('');
      expect(lines).toMatch(/checkpointer thread stopped .*starting a new one in 100 ms/);
      expect(lines).toMatch(/checkpointer thread stopped .*starting a new one in 200 ms/);
      let largest = 0;
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < 6000) {
            await storage.createMailer(mailerRow(`m${next++}`));
            largest = Math.max(largest, statSync(`${file}-wal`).size);
          }
        }),
      );
      // The new thread counts the log, so the writer still rewinds it (8 × the limit, as above).
      expect(largest).toBeLessThan(8 * limit);
      expect(logStarts(file)).toBeGreaterThan(1);
    } finally {
      said.mockRestore();
      await storage.close();
    }
  }, 60_000);

  it('rewinds once per limit reached, not at every commit after it: the next commit writes the log over from its start', async () => {
    const { file, storage, written } = await logPast(LIMIT);
    let n = written;
    const size = statSync(`${file}-wal`).size;
    const starts = logStarts(file);
    expect(storage.restartLogPast(LIMIT, LIMIT)).toBe(true);
    await storage.createMailer(mailerRow(`w${n++}`));
    // Started over and written over: the file did not grow (nor was it cut, which costs more).
    expect(logStarts(file)).toBe(starts + 1);
    expect(statSync(`${file}-wal`).size).toBe(size);
    // The log now holds one commit's frames, far under the limit: nothing to rewind.
    const logBytes = storage.logBytes();
    expect(logBytes).toBeGreaterThan(0);
    expect(logBytes).toBeLessThan(LIMIT / 4);
    expect(storage.restartLogPast(LIMIT, logBytes)).toBe(false);
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
      return storage.restartLogPast(LIMIT, LIMIT);
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
    expect(at(10)).toBe(true);
    let starts = logStarts(file);
    let n = written;
    await storage.createMailer(mailerRow(`w${n++}`));
    expect(logStarts(file)).toBe(starts + 1);

    // A long reader: the pauses between tries double, to a second at most.
    for (let i = 0; i < 20; i++) await storage.createMailer(mailerRow(`w${n++}`));
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
    starts = logStarts(file);
    await storage.createMailer(mailerRow(`w${n++}`));
    expect(logStarts(file)).toBe(starts + 1);
    vi.useRealTimers();
    const last = `mailer-w${n - 1}`;
    expect((await storage.getMailer(last))?.id).toBe(last);
    await storage.close();
  });
});
