/**
 * Tamper response and power-up self-tests: a box whose NVM fails its integrity check, or whose
 * known-answer test fails, refuses to start, and startBoxes says which box and why.
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxError, initBoxes, startBoxes } from '../../../server-mock/boxes/index';
import { BoxProcess } from '../../../server-mock/boxes/box-process';
import { sealToBox } from '../../../server-mock/boxes/key-transport';
import { domainKeyOf } from '../../helpers/boxes';
import {
  TEST_BOX_ENTRY,
  ceremony,
  expectBoxError,
  freshDir,
  fundedMeter,
  mailerAuth,
  piece,
  sharesOf,
} from './helpers';

const quiet = { log: () => undefined };

/** One box process alone, unlocked with the domain key combined from the ceremony's shares. */
async function lonelyBox(
  name: 'auth' | 'txn',
  dir: string,
  env?: Record<string, string>,
): Promise<BoxProcess> {
  const key = await domainKeyOf(dir, sharesOf(dir));
  return new BoxProcess(name, dir, {
    ...quiet,
    entry: TEST_BOX_ENTRY,
    env,
    unlock: (hello) => sealToBox(hello.unlockKey, name, key)!,
  });
}

async function startError(dir: string, env?: Record<string, string>): Promise<BoxError> {
  const error = await startBoxes(dir, {
    ...quiet,
    env,
    shares: sharesOf(dir),
    entry: TEST_BOX_ENTRY,
  }).then(
    async (boxes) => {
      await boxes.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(BoxError);
  return error as BoxError;
}

describe('Key ceremony', () => {
  it('refuses to initialise a data directory twice, and startBoxes refuses an uninitialised one', async () => {
    const dir = freshDir();
    await expectBoxError(startBoxes(dir, quiet), 'BOX_UNAVAILABLE');
    await ceremony(dir);
    await expect(initBoxes(dir)).rejects.toThrow(/already initialised/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('Tamper response', () => {
  let dir: string;
  beforeAll(async () => {
    dir = freshDir();
    await ceremony(dir);
    const boxes = await startBoxes(dir, { ...quiet, shares: sharesOf(dir) });
    const record = await fundedMeter(boxes, 1000);
    await boxes.meter.dispense({
      auth: await mailerAuth(boxes),
      requestId: 'r-1',
      record,
      pieces: [piece()],
    });
    await boxes.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('refuses to start when a byte of the meter box NVM log is changed, naming the box and the file', async () => {
    const path = join(dir, 'boxes', 'meter', 'state.log');
    const original = readFileSync(path);
    const corrupt = Buffer.from(original);
    corrupt[Math.floor(corrupt.length / 2)] = corrupt[Math.floor(corrupt.length / 2)]! ^ 0x04;
    writeFileSync(path, corrupt);
    const error = await startError(dir);
    expect(error.code).toBe('TAMPERED');
    expect(error.box).toBe('meter');
    expect(error.message).toMatch(/box meter: tampered: state\.log/);
    writeFileSync(path, original);
  });

  it('refuses to start when a byte of a sealed key file is changed', async () => {
    const path = join(dir, 'boxes', 'auth', 'keys.json');
    const original = readFileSync(path, 'utf8');
    const keys = JSON.parse(original) as { sealed: string };
    const sealed = Buffer.from(keys.sealed, 'base64');
    sealed[40] = sealed[40]! ^ 0x01;
    writeFileSync(path, JSON.stringify({ ...keys, sealed: sealed.toString('base64') }));
    const error = await (await lonelyBox('auth', dir)).start().then(
      () => undefined,
      (e: unknown) => e as BoxError,
    );
    expect(error).toMatchObject({ code: 'TAMPERED', box: 'auth' });
    expect(error?.message).toMatch(/keys\.json does not open/);
    writeFileSync(path, original);
  });

  it('zeroizes and refuses every command with TAMPERED when its NVM changes while it runs', async () => {
    const boxes = await startBoxes(dir, { ...quiet, shares: sharesOf(dir) });
    try {
      appendFileSync(join(dir, 'boxes', 'steel', 'state.log'), Buffer.from('junk'));
      const error = await expectBoxError(
        boxes.steel.createMeter({ accountId: 'a', demo: false }),
        'TAMPERED',
      );
      expect(error.message).toMatch(/state\.log changed/);
      await expectBoxError(boxes.steel.vendorCa(), 'TAMPERED');
    } finally {
      await boxes.close();
    }
  });
});

describe('Power-up self-tests', () => {
  it('refuses to start when a forced known-answer test fails, naming the box and the algorithm', async () => {
    const dir = freshDir();
    await ceremony(dir);
    const scrypt = await startError(dir, { VPM_BOX_FORCE_SELFTEST_FAIL: 'scrypt' });
    expect(scrypt).toMatchObject({ code: 'SELF_TEST_FAILED', box: 'auth' });
    expect(scrypt.message).toMatch(/scrypt known-answer test/);
    const txn = await lonelyBox('txn', dir, { VPM_BOX_FORCE_SELFTEST_FAIL: 'ecdsa-p256' });
    const ecdsa = (await txn.start().then(
      () => undefined,
      (e: unknown) => e,
    )) as BoxError;
    await txn.stop();
    expect(ecdsa).toMatchObject({ code: 'SELF_TEST_FAILED', box: 'txn' });
    expect(ecdsa.message).toMatch(/ecdsa-p256/);
    rmSync(dir, { recursive: true, force: true });
  });
});
