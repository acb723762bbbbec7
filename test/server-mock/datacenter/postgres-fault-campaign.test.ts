/**
 * The PostgreSQL fault campaign at CI size (bench/postgres-faults.ts; `vpm bench --faults --long`
 * runs it deep): a data center process on a real PostgreSQL, the database restarted (pg_ctl) and
 * killed (kill -9) under load: refused requests say 503 "try again" and are answered when sent
 * again, and the records hold (no piece twice, every indicium received recorded, registers add up).
 */
import { describe, expect, it } from 'vitest';
import { BENCH_CLIENT } from '../../../app/bench-client';
import { runFaultCampaign } from '../../../bench/faults';

describe('runFaultCampaign()', () => {
  it('finds no problem when PostgreSQL restarts under load', { timeout: 240_000 }, async () => {
    const lines: string[] = [];
    const report = await runFaultCampaign(BENCH_CLIENT, {
      log: (line) => lines.push(line),
      parts: ['postgres'],
    });
    expect(report.problems, lines.join('\n')).toEqual([]);
    expect(report.checked.join('\n')).toMatch(/refused 503 "try again".*\(2×\)/);
    expect(report.checked.join('\n')).toMatch(/every indicium a client received is recorded/);
  });
});
