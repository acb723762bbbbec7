/**
 * Custody inside the boxes (DESIGN.md "Custody"): a box starts locked and serves nothing until it
 * gets this data center's domain key sealed to its own transport key; a box restarted by
 * supervision gets the key from a running sibling, and with no sibling running it cannot start.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxProcess } from '../../../server-mock/boxes/box-process';
import { CustodyError, startBoxes } from '../../../server-mock/boxes/index';
import { sealToBox, transportKeyPair } from '../../../server-mock/boxes/key-transport';
import { domainKeyOf } from '../../helpers/boxes';
import { TEST_BOX_ENTRY, ceremony, expectBoxError, freshDir, sharesOf } from './helpers';

const quiet = { log: () => undefined };
let dir: string;
beforeAll(async () => {
  dir = freshDir();
  await ceremony(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('startBoxes()', () => {
  it('refuses without shares, and with fewer than the quorum, before any box runs', async () => {
    const none = await startBoxes(dir, quiet).catch((e: unknown) => e);
    expect(none).toBeInstanceOf(CustodyError);
    expect((none as CustodyError).code).toBe('SHARES_INSUFFICIENT');
    const one = await startBoxes(dir, { ...quiet, shares: sharesOf(dir).slice(0, 1) }).catch(
      (e: unknown) => e,
    );
    expect(one).toMatchObject({ code: 'SHARES_INSUFFICIENT', details: { valid: 1, needed: 2 } });
  });

  it('restarts a killed box with the key from a running sibling, and cannot when none runs', async () => {
    const boxes = await startBoxes(dir, { ...quiet, shares: sharesOf(dir).slice(1) });
    try {
      process.kill(boxes.pids().txn!, 'SIGKILL');
      await boxes.restart('txn');
      const { signature } = await boxes.txn.sign({ kind: 'login', body: { who: 'x' } });
      expect(signature).toMatch(/^[A-Za-z0-9+/=]+$/);
      for (const name of ['meter', 'steel', 'auth', 'txn'] as const)
        process.kill(boxes.pids()[name]!, 'SIGKILL');
      const error = await expectBoxError(boxes.restart('meter'), 'BOX_UNAVAILABLE');
      expect(error.message).toMatch(/no running box can pass it the domain key/);
    } finally {
      await boxes.close();
    }
  });
});

describe('a box process', () => {
  it('serves nothing while locked, and refuses a key that is not its data center’s', async () => {
    let answers: unknown[] = [];
    const box = new BoxProcess('txn', dir, {
      ...quiet,
      entry: TEST_BOX_ENTRY,
      unlock: async (hello) => {
        expect(hello).toMatchObject({ box: 'txn', locked: true });
        answers = await Promise.all([
          box.call('sign', { kind: 'login', body: {} }).catch((e: unknown) => e),
          box
            .call('rewrap', { publicKey: transportKeyPair().publicKey, box: 'meter' })
            .catch((e: unknown) => e),
        ]);
        return sealToBox(hello.unlockKey, 'txn', randomBytes(32))!;
      },
    });
    const error = await expectBoxError(box.start(), 'BAD_REQUEST');
    expect(error.message).toMatch(/not this data center's domain key/);
    for (const answer of answers) expect(answer).toMatchObject({ code: 'BAD_REQUEST' });
    expect((answers[0] as Error).message).toMatch(/locked/);
  });

  it('refuses a key sealed for another box', async () => {
    const key = await domainKeyOf(dir, sharesOf(dir));
    const box = new BoxProcess('auth', dir, {
      ...quiet,
      entry: TEST_BOX_ENTRY,
      unlock: (hello) => sealToBox(hello.unlockKey, 'meter', key)!,
    });
    const error = await expectBoxError(box.start(), 'BAD_REQUEST');
    expect(error.message).toMatch(/sealed key does not open/);
  });
});
