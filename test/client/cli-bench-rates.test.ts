/**
 * `vpm bench --rates`: the offered rates are whole numbers of transactions a second; anything
 * else is refused with a usage error before a data center is started. `--skeleton`, which also
 * measures the data center, is refused beside the parts that do not.
 */
import { describe, expect, it } from 'vitest';
import { parseRates } from '../../app/cli/bench-command';
import { CliError, EXIT } from '../../client/cli/errors';
import { vpmInProcess } from '../helpers/cli';

describe('vpm bench --rates', () => {
  it('takes comma-separated whole rates, spaces allowed around them', () => {
    expect(parseRates('300, 600,900')).toEqual([300, 600, 900]);
    expect(parseRates('1')).toEqual([1]);
    expect(parseRates('100000')).toEqual([100_000]);
  });

  it.each(['', '0', '1.5', '-3', '300,,600', 'fast', '100001', '1e3', '0x10'])(
    'refuses %j with a usage error that names it',
    (list) => {
      let error: unknown;
      try {
        parseRates(list);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(CliError);
      expect((error as CliError).exitCode).toBe(EXIT.usage);
      expect((error as Error).message).toContain(`--rates ${list}:`);
      expect((error as Error).message).toContain('for example --rates 300,600,900');
    },
  );

  it('stops before anything runs: a bad list, or rates with a part that is not the data center', async () => {
    const bad = await vpmInProcess(['bench', '--quick', '--rates', 'fast']);
    expect(bad.code).toBe(EXIT.usage);
    expect(bad.stderr).toContain('--rates fast:');
    expect(bad.stdout).toBe('');
    for (const part of ['--client', '--cli', '--faults']) {
      const mixed = await vpmInProcess(['bench', part, '--rates', '300']);
      expect(mixed.code).toBe(EXIT.usage);
      expect(mixed.stderr).toContain('--rates measures the data center');
      expect(mixed.stdout).toBe('');
      const skeleton = await vpmInProcess(['bench', part, '--skeleton']);
      expect(skeleton.code).toBe(EXIT.usage);
      expect(skeleton.stderr).toContain('--skeleton measures the data center');
      expect(skeleton.stdout).toBe('');
    }
  });
});
