/**
 * Helpers for the box tests: a fresh data directory with a key ceremony, real box processes
 * (through the test harness entry, so VPM_BOX_* switches work), mail pieces, and an assertion for
 * BoxError codes.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import {
  BoxError,
  initBoxes,
  startBoxes,
  type BoxErrorCode,
  type BoxSet,
  type MailerAuth,
  type MeterRecord,
  type PieceRequest,
  type StartOptions,
} from '../../../server-mock/boxes/index';
import { macRecord } from '../../../server-mock/boxes/record-mac';
import { tokenHashOf } from '../../../server-mock/boxes/grant';
import { TEST_BOX_ENTRY, boxSecretsOf } from '../../helpers/boxes';

export { TEST_BOX_ENTRY };

export interface Fixture {
  dir: string;
  /** The custodian shares of the ceremony (all n). */
  shares: string[];
  boxes: BoxSet;
  logs: string[];
  dispose(): Promise<void>;
}

const sharesByDir = new Map<string, string[]>();
const meterSecretsByDir = new Map<string, Record<string, Buffer>>();

/** Key ceremony in `dir`; remembers its shares (and the meter box's secrets) for the helpers below. */
export async function ceremony(dir: string): Promise<string[]> {
  const { shares } = await initBoxes(dir);
  sharesByDir.set(dir, shares);
  meterSecretsByDir.set(dir, await boxSecretsOf(dir, shares, 'meter'));
  return shares;
}

/** The shares of the ceremony run in `dir` by ceremony() or freshBoxes(). */
export function sharesOf(dir: string): string[] {
  const shares = sharesByDir.get(dir);
  if (!shares) throw new Error(`no ceremony run in ${dir} by these helpers`);
  return shares;
}

/** Fresh data dir, key ceremony, boxes started (test harness entry). */
export async function freshBoxes(opts: StartOptions = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-boxes-'));
  const shares = await ceremony(dir);
  const logs: string[] = [];
  const boxes = await startBoxes(dir, {
    log: (line) => logs.push(line),
    shares,
    entry: TEST_BOX_ENTRY,
    ...opts,
  });
  return {
    dir,
    shares,
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

/** A mailer signed in at the authentication box: its grant and the bearer token it names. */
export async function signIn(
  boxes: BoxSet,
  mailerId = `acct-${randomUUID()}`,
  ttlSeconds = 3600,
): Promise<MailerAuth> {
  const password = 'correct horse battery';
  const { verifier } = await boxes.auth.enroll({ mailerId, password });
  const token = randomUUID();
  const grant = await boxes.auth.authenticate({
    mailerId,
    password,
    verifier,
    ttlSeconds,
    tokenHash: tokenHashOf(token),
  });
  return { grant, token };
}

const sessions = new WeakMap<BoxSet, Promise<MailerAuth>>();

/** The one mailer a box fixture's meters belong to (signed in once: scrypt is slow on purpose). */
export function mailerAuth(boxes: BoxSet): Promise<MailerAuth> {
  let auth = sessions.get(boxes);
  if (!auth) {
    auth = signIn(boxes);
    sessions.set(boxes, auth);
  }
  return auth;
}

/** A funded meter of the fixture's mailer: created by the steel box, credited by the meter box. */
export async function fundedMeter(
  boxes: BoxSet,
  cents: number,
  demo = false,
): Promise<MeterRecord> {
  const auth = await mailerAuth(boxes);
  const { record } = await boxes.steel.createMeter({ accountId: auth.grant.mailerId, demo });
  if (cents === 0) return record;
  return (
    await boxes.meter.credit({
      requestId: randomUUID(),
      auth,
      record,
      amountCents: cents,
      credit: { kind: 'refill', refillId: 'refill' },
    })
  ).record;
}

/**
 * The record MAC master, opened from the meter box's sealed key file with a quorum of shares:
 * lets a test play a forger who holds it.
 */
export function recordMasterOf(dir: string): Buffer {
  const key = meterSecretsByDir.get(dir)?.recordMaster;
  if (!key) throw new Error(`no ceremony run in ${dir} by these helpers`);
  return key;
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
