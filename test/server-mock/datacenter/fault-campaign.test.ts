/**
 * The fault campaigns of issue 9 at CI size (bench/faults.ts; `vpm bench --faults --long` runs
 * them deep): crash, tamper, fuzz and abuse against a real data center find no problem (the
 * nodes campaign runs in nodes-fault-campaign.test.ts, beside it).
 */
import { describe, expect, it } from 'vitest';
import { BENCH_CLIENT } from '../../../app/bench-client';
import { runFaultCampaign } from '../../../bench/faults';

describe('runFaultCampaign()', () => {
  it('finds no problem in the small campaign', { timeout: 240_000 }, async () => {
    const lines: string[] = [];
    const report = await runFaultCampaign(BENCH_CLIENT, {
      log: (line) => lines.push(line),
      parts: ['single'],
    });
    expect(report.problems, lines.join('\n')).toEqual([]);
    expect(report.checked.length).toBeGreaterThan(10);
  });
});
