/**
 * Helpers for the box tests: a fresh data directory with a key ceremony, real box processes,
 * mail pieces, and an assertion for BoxError codes.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  BoxError,
  initBoxes,
  startBoxes,
  type BoxErrorCode,
  type BoxSet,
  type MeterRecord,
  type PieceRequest,
  type StartOptions,
} from '../../../server-mock/boxes/index';
import { macRecord } from '../../../server-mock/boxes/record-mac';

export interface Fixture {
  dir: string;
  boxes: BoxSet;
  logs: string[];
  dispose(): Promise<void>;
}

/** Fresh data dir, key ceremony, boxes started. */
export async function freshBoxes(opts: StartOptions = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-boxes-'));
  await initBoxes(dir);
  const logs: string[] = [];
  const boxes = await startBoxes(dir, { log: (line) => logs.push(line), ...opts });
  return {
    dir,
    boxes,
    logs,
    async dispose() {
      await boxes.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'vpm-boxes-'));
}

/** Today in UTC, YYYY-MM-DD (a mailing date inside the certificate's validity). */
export const today = (): string => new Date().toISOString().slice(0, 10);

export function piece(overrides: Partial<PieceRequest> = {}): PieceRequest {
  return {
    pieceId: randomUUID(),
    postageCents: 73,
    mailClass: 'first-class',
    originZip: '10001',
    destinationZip: '945010001',
    mailingDate: today(),
    ...overrides,
  };
}

/** Awaits a promise that must reject with a BoxError of this code; returns the error. */
export async function expectBoxError(
  promise: Promise<unknown>,
  code: BoxErrorCode,
): Promise<BoxError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, `expected ${code}`).toBeInstanceOf(BoxError);
  expect((error as BoxError).code, (error as BoxError).message).toBe(code);
  return error as BoxError;
}

/** A funded meter: created by the steel box, credited by the meter box. */
export async function fundedMeter(
  boxes: BoxSet,
  cents: number,
  demo = false,
): Promise<MeterRecord> {
  const { record } = await boxes.steel.createMeter({ accountId: `acct-${randomUUID()}`, demo });
  if (cents === 0) return record;
  return (
    await boxes.meter.credit({
      requestId: randomUUID(),
      record,
      amountCents: cents,
      reference: 'refill',
    })
  ).record;
}

/** The record MAC master, read from the meter box's key file: lets a test play a forger who holds it. */
export function recordMasterOf(dir: string): Buffer {
  const keys = JSON.parse(readFileSync(join(dir, 'boxes', 'meter', 'keys.json'), 'utf8')) as {
    keys: Record<string, string>;
  };
  return Buffer.from(keys.keys.recordMaster ?? '', 'base64');
}

/** Re-MACs a changed record with the real key (what only a box could do). */
export function forge(
  dir: string,
  record: MeterRecord,
  changes: Partial<MeterRecord>,
): MeterRecord {
  const { mac: _mac, macPeriod, ...body } = { ...record, ...changes };
  return macRecord(recordMasterOf(dir), body, macPeriod);
}
