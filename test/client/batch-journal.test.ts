/**
 * Tests of the batch run's journal (services/batch-journal.ts) and the list's hash: the journal
 * is appended to, never rewritten, survives a line torn by a crash, and reads an earlier
 * version's file with its stored keys; the hash is what it was.
 */
import { createHash } from 'node:crypto';
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseBatchCsv } from '../../client/services/batch-csv';
import { note, readRun, startRun } from '../../client/services/batch-journal';
import { batchDigest } from '../../client/services/postage-service';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-batch-stream-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('batchDigest()', () => {
  it('is the SHA-256 of [meter, rows] written as JSON, as before', () => {
    const { pieces } = parseBatchCsv(
      'name,street,city,state,zip,postage\nAnn  Lee,1 Main St,Springfield,il,62701-1234,0.78\nBo,2 Elm,Alameda,CA,94501,1.00',
    );
    const rows = [
      ['ANN LEE', '', '1 MAIN ST', '', 'SPRINGFIELD', 'IL', '627011234', 'first-class', 78],
      ['BO', '', '2 ELM', '', 'ALAMEDA', 'CA', '94501', 'first-class', 100],
    ];
    const expected = createHash('sha256')
      .update(JSON.stringify(['M1', rows]))
      .digest('hex');
    expect(batchDigest(pieces, 'M1')).toBe(expected);
  });
});

describe('the batch journal', () => {
  it('appends a line per chunk and one at the end, never rewriting what is there', async () => {
    const file = join(dir, 'run.json');
    const run = await startRun(file, 'run-1', 'digest');
    const header = await readFile(file, 'utf8');
    await note(file, { paid: { '2': 'p2', '3': 'p3' } });
    expect((await readFile(file, 'utf8')).startsWith(header)).toBe(true);
    expect((await readRun(file))?.complete).toBe(false);
    await note(file, { complete: true, completedAt: '2026-12-01T18:00:00.000Z' });
    const again = await readRun(file);
    expect(again).toMatchObject({
      batchId: 'run-1',
      complete: true,
      completedAt: '2026-12-01T18:00:00.000Z',
    });
    expect(run.keyOf(7)).toBe('b-run-1-7');
    expect(again?.keyOf(7)).toBe('b-run-1-7');
    expect((await readFile(file, 'utf8')).trim().split('\n')).toHaveLength(3);
  });

  it('drops a line torn by a crash, so the next lines can follow', async () => {
    const file = join(dir, 'torn.json');
    await startRun(file, 'run-2', 'digest');
    await note(file, { paid: { '2': 'p2' } });
    await appendFile(file, '{"paid":{"3":"p'); // the crash
    expect(await readRun(file)).toMatchObject({ batchId: 'run-2', complete: false });
    await note(file, { complete: true, completedAt: '2026-12-01T18:00:00.000Z' });
    expect(await readRun(file)).toMatchObject({ complete: true });
  });

  it("reads an earlier version's file, keeping its stored keys", async () => {
    const file = join(dir, 'old.json');
    const keys = { '2': 'b-old-run-2', '3': 'b-old-run-3' };
    await writeFile(
      file,
      JSON.stringify({ batchId: 'old-run', csvDigest: 'd', keys, paid: {}, complete: false }),
    );
    const run = await readRun(file);
    expect(run?.keyOf(3)).toBe('b-old-run-3');
    await note(file, { complete: true, completedAt: '2026-12-01T18:00:00.000Z' });
    expect(await readRun(file)).toMatchObject({ batchId: 'old-run', complete: true });
  });

  it('refuses a file it cannot read, saying what to do', async () => {
    const file = join(dir, 'bad.json');
    await writeFile(file, 'not json\n{"paid":{}}\n');
    await expect(readRun(file)).rejects.toThrow(/cannot be read.*delete it/);
  });
});
