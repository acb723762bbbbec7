/**
 * Tamper response and power-up self-tests: a box whose NVM fails its integrity check, or whose
 * known-answer test fails, refuses to start, and startBoxes says which box and why.
 */
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BoxError, initBoxes, startBoxes } from '../../../server-mock/boxes/index';
import { BoxProcess } from '../../../server-mock/boxes/box-process';
import { expectBoxError, freshDir, fundedMeter, piece } from './helpers';

const quiet = { log: () => undefined };

async function startError(dir: string, env?: Record<string, string>): Promise<BoxError> {
  const error = await startBoxes(dir, { ...quiet, env }).then(
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
    await initBoxes(dir);
    await expect(initBoxes(dir)).rejects.toThrow(/already initialised/);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe('Tamper response', () => {
  let dir: string;
  beforeAll(async () => {
    dir = freshDir();
    await initBoxes(dir);
    const boxes = await startBoxes(dir, quiet);
    const record = await fundedMeter(boxes, 1000);
    await boxes.meter.dispense({ requestId: 'r-1', record, pieces: [piece()] });
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

  it('refuses to start when a key file does not match its checksum', async () => {
    const path = join(dir, 'boxes', 'auth', 'keys.json');
    const original = readFileSync(path, 'utf8');
    const keys = JSON.parse(original) as { keys: Record<string, string> };
    keys.keys.grantKey = Buffer.alloc(32, 7).toString('base64');
    writeFileSync(path, JSON.stringify(keys));
    const error = await new BoxProcess('auth', dir, quiet).start().then(
      () => undefined,
      (e: unknown) => e as BoxError,
    );
    expect(error).toMatchObject({ code: 'TAMPERED', box: 'auth' });
    expect(error?.message).toMatch(/keys\.json checksum/);
    writeFileSync(path, original);
  });

  it('zeroizes and refuses every command with TAMPERED when its NVM changes while it runs', async () => {
    const boxes = await startBoxes(dir, quiet);
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
    await initBoxes(dir);
    const scrypt = await startError(dir, { VPM_BOX_FORCE_SELFTEST_FAIL: 'scrypt' });
    expect(scrypt).toMatchObject({ code: 'SELF_TEST_FAILED', box: 'auth' });
    expect(scrypt.message).toMatch(/scrypt known-answer test/);
    const txn = new BoxProcess('txn', dir, {
      ...quiet,
      env: { VPM_BOX_FORCE_SELFTEST_FAIL: 'ecdsa-p256' },
    });
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
