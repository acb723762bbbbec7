/**
 * The nodes fault campaign at CI size (bench/faults.ts; `vpm bench --faults --long` runs it
 * deep): on a box pool of two meter shards and two API nodes sharing one PostgreSQL database,
 * kill -9 of one node under load, then of one meter shard; no problem found.
 */
import { describe, expect, it } from 'vitest';
import { BENCH_CLIENT } from '../../../app/bench-client';
import { runFaultCampaign } from '../../../bench/faults';

describe('runFaultCampaign()', () => {
  it('finds no problem in the small nodes campaign', { timeout: 240_000 }, async () => {
    const lines: string[] = [];
    const report = await runFaultCampaign(BENCH_CLIENT, {
      log: (line) => lines.push(line),
      parts: ['nodes'],
    });
    expect(report.problems, lines.join('\n')).toEqual([]);
    expect(report.checked.join('\n')).toMatch(/other shard's meters are unaffected/);
  });
});
