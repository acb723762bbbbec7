/**
 * A box's NVM on real files (nvm.ts): sealed under the box's file key, group-committed log
 * records, a torn last record dropped, an edited or moved record refused, compaction into a new
 * snapshot.
 */
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  FOLDING_LOG_FILE,
  KEYS_FILE,
  LOG_FILE,
  Nvm,
  SNAPSHOT_FILE,
  TamperError,
  boxFileKey,
  createNvm,
} from '../../../server-mock/boxes/nvm';

let dir: string;
let key: Buffer;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vpm-nvm-'));
  key = boxFileKey(randomBytes(32), 'meter');
  createNvm(
    dir,
    { v: 1, box: 'meter', keys: { k: randomBytes(32).toString('base64') }, public: {} },
    { start: 1 },
    key,
  );
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const sync = (nvm: Nvm) =>
  new Promise<void>((done, fail) => nvm.sync((e) => (e ? fail(e) : done())));

async function commit(nvm: Nvm, values: Record<string, unknown>): Promise<void> {
  for (const [k, v] of Object.entries(values)) nvm.stage(k, v);
  expect(nvm.append()).toBe(true);
  await sync(nvm);
}

const logPath = () => join(dir, LOG_FILE);
const foldingPath = () => join(dir, FOLDING_LOG_FILE);

/** The NVM's files as they are now: what a crash at this moment would leave. */
const crashCopy = (): Map<string, Buffer> =>
  new Map(readdirSync(dir).map((name) => [name, readFileSync(join(dir, name))]));

/** Puts a crash copy back as the NVM's whole directory. */
function restore(files: Map<string, Buffer>): void {
  for (const name of readdirSync(dir)) unlinkSync(join(dir, name));
  for (const [name, bytes] of files) writeFileSync(join(dir, name), bytes);
}

/** Opens the NVM, reads `keys`, and closes it again. */
function valuesAfterOpen(keys: string[]): { values: unknown[]; notes: string[] } {
  const nvm = Nvm.open(dir, 'meter', key);
  const values = keys.map((k) => nvm.get(k));
  const notes = [...nvm.notes];
  nvm.zeroize();
  return { values, notes };
}
const tamperOf = (fn: () => unknown): TamperError => {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TamperError);
    return error as TamperError;
  }
  throw new Error('expected a TamperError');
};

describe('Nvm', () => {
  it('keeps committed values across a reopen, and opens only under its own key and box name', async () => {
    const nvm = Nvm.open(dir, 'meter', key);
    await commit(nvm, { a: 1 });
    await commit(nvm, { b: 'two' });
    nvm.zeroize();
    const again = Nvm.open(dir, 'meter', key);
    expect([again.get('start'), again.get('a'), again.get('b')]).toEqual([1, 1, 'two']);
    again.zeroize();
    expect(
      tamperOf(() => Nvm.open(dir, 'meter', boxFileKey(randomBytes(32), 'meter'))).message,
    ).toMatch(/keys\.json does not open/);
    expect(tamperOf(() => Nvm.open(dir, 'steel', key)).message).toMatch(/belongs to box "meter"/);
  });

  it('drops a torn last record (a crash mid-append) and goes on from the last whole one', async () => {
    const nvm = Nvm.open(dir, 'meter', key);
    await commit(nvm, { a: 1 });
    const whole = statSync(logPath()).size;
    await commit(nvm, { a: 2 });
    nvm.zeroize();
    truncateSync(logPath(), statSync(logPath()).size - 5);
    const after = Nvm.open(dir, 'meter', key);
    expect(after.notes.join()).toMatch(/dropped a torn log record/);
    expect(after.get('a')).toBe(1);
    expect(statSync(logPath()).size).toBe(whole);
    await commit(after, { a: 3 });
    after.zeroize();
    expect(Nvm.open(dir, 'meter', key).get('a')).toBe(3);
  });

  it('refuses an edited record length instead of taking it for a torn record', async () => {
    const nvm = Nvm.open(dir, 'meter', key);
    await commit(nvm, { a: 1 });
    await commit(nvm, { a: 2 });
    nvm.zeroize();
    const log = readFileSync(logPath());
    log.writeUInt32BE(log.readUInt32BE(0) + 1000, 0); // would run past the end: looks torn
    writeFileSync(logPath(), log);
    expect(tamperOf(() => Nvm.open(dir, 'meter', key)).message).toMatch(
      /state\.log record head does not verify at offset 0/,
    );
  });

  it('refuses log records swapped in place', async () => {
    const nvm = Nvm.open(dir, 'meter', key);
    await commit(nvm, { a: 'x' });
    const first = statSync(logPath()).size;
    await commit(nvm, { a: 'y' });
    nvm.zeroize();
    const log = readFileSync(logPath());
    expect(log.length).toBe(first * 2);
    writeFileSync(logPath(), Buffer.concat([log.subarray(first), log.subarray(0, first)]));
    expect(tamperOf(() => Nvm.open(dir, 'meter', key)).message).toMatch(/state\.log/);
  });

  it('folds a long log into a new sealed snapshot and starts the log again', async () => {
    const nvm = Nvm.open(dir, 'meter', key);
    const big = 'x'.repeat(1024 * 1024);
    for (let i = 0; i < 9; i++) await commit(nvm, { [`big${i}`]: big, n: i });
    await nvm.compactIfDue();
    expect(statSync(logPath()).size).toBe(0);
    expect(existsSync(foldingPath())).toBe(false);
    expect(readFileSync(join(dir, SNAPSHOT_FILE), 'utf8')).not.toContain('x'.repeat(100));
    await commit(nvm, { n: 100 });
    nvm.zeroize();
    const again = Nvm.open(dir, 'meter', key);
    expect([again.get('n'), (again.get('big8') as string).length]).toEqual([100, big.length]);
    again.zeroize();
  });

  it('folds the log while appends go on, and a crash at any step of it opens to every answered commit', async () => {
    const nvm = Nvm.open(dir, 'meter', key, 100);
    await commit(nvm, { a: 1 });
    await commit(nvm, { b: 2 });
    const folding = nvm.compactIfDue();
    // The log is renamed and a new one takes the appends at once; the snapshot is still written.
    expect(existsSync(foldingPath())).toBe(true);
    expect(statSync(logPath()).size).toBe(0);
    const rotated = crashCopy();
    await commit(nvm, { c: 3 });
    // The snapshot is written on the thread pool meanwhile: a crash before it is durable leaves
    // the old snapshot, the folded log, and the new log with what was appended since.
    const appendedMeanwhile = new Map(rotated).set(LOG_FILE, readFileSync(logPath()));
    await folding;
    expect(existsSync(foldingPath())).toBe(false);
    const folded = crashCopy();
    await commit(nvm, { d: 4 });
    nvm.zeroize();
    const keys = ['a', 'b', 'c', 'd'];
    expect(valuesAfterOpen(keys).values).toEqual([1, 2, 3, 4]);

    // Stopped before the snapshot was written: both logs are replayed and the fold finished.
    restore(appendedMeanwhile);
    const finished = valuesAfterOpen(keys);
    expect(finished.values).toEqual([1, 2, 3, undefined]);
    expect(finished.notes.join()).toMatch(/finished a compaction/);
    expect(existsSync(foldingPath())).toBe(false);
    expect(valuesAfterOpen(keys).values).toEqual([1, 2, 3, undefined]);

    // Stopped between the rename and the new log's creation.
    restore(rotated);
    unlinkSync(logPath());
    expect(valuesAfterOpen(keys).values).toEqual([1, 2, undefined, undefined]);
    expect(existsSync(logPath())).toBe(true);

    // Stopped after the snapshot's rename, before the folded log was removed.
    restore(folded);
    writeFileSync(foldingPath(), appendedMeanwhile.get(FOLDING_LOG_FILE) as Buffer);
    expect(valuesAfterOpen(keys).values).toEqual([1, 2, 3, undefined]);
  });

  it('refuses a folded log that is gone or cut short before its snapshot was written', async () => {
    const nvm = Nvm.open(dir, 'meter', key, 100);
    await commit(nvm, { a: 1 });
    await commit(nvm, { a: 2 });
    const folding = nvm.compactIfDue();
    const rotated = crashCopy();
    await commit(nvm, { a: 3 });
    const midway = new Map(rotated).set(LOG_FILE, readFileSync(logPath()));
    await folding;
    nvm.zeroize();
    // Removing state.log.1 would roll the meter back past the snapshot: the sequence shows it.
    restore(midway);
    unlinkSync(foldingPath());
    expect(tamperOf(() => Nvm.open(dir, 'meter', key)).message).toMatch(
      /state\.log does not follow the snapshot/,
    );
    // state.log.1 was whole when it was folded: a torn end there is an edit, not a crash.
    restore(midway);
    truncateSync(foldingPath(), statSync(foldingPath()).size - 5);
    expect(tamperOf(() => Nvm.open(dir, 'meter', key)).message).toMatch(
      /state\.log\.1 ends in a torn record/,
    );
  });

  it('refuses every one-bit change of its key file and snapshot, the last base64 character and the newline included', () => {
    for (const name of [KEYS_FILE, SNAPSHOT_FILE]) {
      const path = join(dir, name);
      const original = readFileSync(path);
      for (let at = 0; at < original.length; at++)
        for (let bit = 0; bit < 8; bit++) {
          const edited = Buffer.from(original);
          edited[at] = edited[at]! ^ (1 << bit);
          writeFileSync(path, edited);
          expect(
            () => Nvm.open(dir, 'meter', key).zeroize(),
            `${name} byte ${at} bit ${bit}`,
          ).toThrow(TamperError);
        }
      writeFileSync(path, original);
    }
    Nvm.open(dir, 'meter', key).zeroize();
  });
});
