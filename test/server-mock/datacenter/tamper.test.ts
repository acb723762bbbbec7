/**
 * Tampering with the meter records (patent Fig. 4 steps 205–230) behind a running data center:
 * raw SQL edits of registers, counter and MAC, records swapped between meters, stale records and
 * whole-database rollbacks. Each is refused with METER_INTEGRITY, stored as a fraud alert (admin
 * API and `vpm datacenter alerts`), and charges nothing.
 */
import { randomBytes } from 'node:crypto';
import { copyFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import type { DataCenterClient } from '../../../client/services/datacenter-client';
import { vpmInProcess } from '../../helpers/cli';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';
import {
  closeRaw,
  errorCode,
  meterRow,
  openDb,
  piece,
  raw,
  writeRecord,
  type MeterRow,
} from './support';

const CARD = '4242424242424242';
let t: TestDataCenter;
let db: Database.Database;

beforeAll(async () => {
  t = await startTestDataCenter();
  db = openDb(t.dir);
});
afterAll(async () => {
  db.close();
  await closeRaw(t);
  await t.close();
});

interface Funded {
  client: DataCenterClient;
  serial: string;
}

let refills = 0;
async function funded(): Promise<Funded> {
  const client = await t.mailer();
  const account = await client.refill({
    amountCents: 2000,
    cardNumber: CARD,
    idempotencyKey: `tamper-refill-${++refills}`,
  });
  await client.dispense({ pieces: [piece(100)] });
  return { client, serial: account.meterSerial };
}

async function alertsFor(serial: string): Promise<{ code: string; reason: string }[]> {
  const answer = await raw(t, 'GET', '/v1/admin/alerts', { token: t.adminToken });
  expect(answer.status).toBe(200);
  const { alerts } = answer.body as {
    alerts: { meterSerial: string | null; code: string; reason: string }[];
  };
  return alerts.filter((a) => a.meterSerial === serial);
}

/** Dispenses on a tampered record: refused, alerted, nothing stored. */
async function expectRefused(m: Funded, alertCode: string): Promise<void> {
  const before = (await alertsFor(m.serial)).length;
  const piecesBefore = (await m.client.history({})).total;
  const answer = await raw(t, 'POST', '/v1/pieces', {
    token: m.client.token,
    body: { pieces: [piece(50)] },
  });
  expect(answer.status).toBe(409);
  expect(errorCode(answer)).toBe('METER_INTEGRITY');
  const alerts = await alertsFor(m.serial);
  expect(alerts.length).toBe(before + 1);
  expect(alerts[0]!.code).toBe(alertCode);
  expect((await m.client.history({})).total).toBe(piecesBefore);
}

/**
 * After the original row is put back, the meter stays suspended (a MAC failure suspends it in the
 * meter box) until an administrator reinstates it; then it has its old balance and dispenses.
 */
async function expectRestored(m: Funded, original: MeterRow, suspended = true): Promise<void> {
  writeRecord(db, m.serial, original);
  expect((await m.client.account()).status).toBe(suspended ? 'suspended' : 'active');
  if (suspended) {
    const answer = await raw(t, 'POST', '/v1/pieces', {
      token: m.client.token,
      body: { pieces: [piece(50)] },
    });
    expect(errorCode(answer)).toBe('METER_SUSPENDED');
    expect(
      await t.running.dc.reinstate(m.serial, 'record restored from the audit copy'),
    ).not.toBeNull();
  }
  expect((await m.client.account()).balanceCents).toBe(1900);
  const { balanceCents } = await m.client.dispense({ pieces: [piece(10)] });
  expect(balanceCents).toBe(1890);
}

describe('DataCenter against a tampered database', () => {
  it('refuses a record whose descending register was raised', async () => {
    const m = await funded();
    const original = meterRow(db, m.serial);
    writeRecord(db, m.serial, { ...original, descending_cents: 1_000_000 });
    await expectRefused(m, 'METER_RECORD_BAD_MAC');
    await expectRestored(m, original);
  });

  it('refuses a record whose counter was changed', async () => {
    const m = await funded();
    const original = meterRow(db, m.serial);
    writeRecord(db, m.serial, { ...original, counter: (original.counter as number) + 1 });
    await expectRefused(m, 'METER_RECORD_BAD_MAC');
    await expectRestored(m, original);
  });

  it('refuses a record set to suspended or to a lower balance as tampering, not as a plain refusal', async () => {
    const m = await funded();
    const original = meterRow(db, m.serial);
    writeRecord(db, m.serial, { ...original, status: 'suspended' });
    await expectRefused(m, 'METER_RECORD_BAD_MAC');
    writeRecord(db, m.serial, { ...original, descending_cents: 10 });
    await expectRefused(m, 'METER_RECORD_BAD_MAC');
    await expectRestored(m, original);
  });

  it('refuses a record whose MAC was replaced', async () => {
    const m = await funded();
    const original = meterRow(db, m.serial);
    writeRecord(db, m.serial, { ...original, mac: randomBytes(32).toString('base64') });
    await expectRefused(m, 'METER_RECORD_BAD_MAC');
    await expectRestored(m, original);
  });

  it('refuses a record whose fields no longer have the record shape', async () => {
    const m = await funded();
    const original = meterRow(db, m.serial);
    const edits: MeterRow[] = [
      { status: 'activf' },
      { certificate_serial: 'zz' + String(original.certificate_serial).slice(2) },
      { mac: 'not base64!' },
      { descending_cents: -5 },
    ];
    for (const edit of edits) {
      writeRecord(db, m.serial, { ...original, ...edit });
      await expectRefused(m, 'METER_RECORD_MALFORMED');
    }
    // The box never saw a record it could check: no suspension.
    await expectRestored(m, original, false);
  });

  it("refuses both meters when two meters' records are swapped", async () => {
    const a = await funded();
    const b = await funded();
    await b.client.refill({ amountCents: 500, cardNumber: CARD, idempotencyKey: 'tamper-b-more' });
    const rowA = meterRow(db, a.serial);
    const rowB = meterRow(db, b.serial);
    // A's row now carries B's record (richer), and B's row carries A's.
    writeRecord(db, a.serial, rowB);
    writeRecord(db, b.serial, rowA);
    await expectRefused(a, 'METER_RECORD_BAD_MAC');
    await expectRefused(b, 'METER_RECORD_BAD_MAC');
    await expectRestored(a, rowA);
    writeRecord(db, b.serial, rowB);
    await t.running.dc.reinstate(b.serial, 'record restored from the audit copy');
    expect((await b.client.account()).balanceCents).toBe(2400);
    expect((await b.client.dispense({ pieces: [piece(10)] })).balanceCents).toBe(2390);
  });

  it('refuses a stale record (two steps behind the meter box) as a freshness failure', async () => {
    const m = await funded();
    const stale = meterRow(db, m.serial);
    await m.client.dispense({ pieces: [piece(100)] });
    await m.client.dispense({ pieces: [piece(100)] });
    const current = meterRow(db, m.serial);
    writeRecord(db, m.serial, stale);
    await expectRefused(m, 'FRESHNESS_MISMATCH');
    writeRecord(db, m.serial, current);
    expect(await t.running.dc.reinstate(m.serial, 'current record restored')).toMatchObject({
      code: 'FRESHNESS_MISMATCH',
    });
    expect((await m.client.dispense({ pieces: [piece(10)] })).balanceCents).toBe(1690);
  });

  it('recovers a record one step behind from the meter box journal (a lost write), charging once', async () => {
    const m = await funded();
    const behind = meterRow(db, m.serial);
    const { pieces } = await m.client.dispense({ pieces: [piece(100)] });
    writeRecord(db, m.serial, behind);
    const { balanceCents } = await m.client.dispense({ pieces: [piece(10)] });
    expect(balanceCents).toBe(1790);
    const account = await m.client.account();
    expect(account.ascendingCents + account.balanceCents).toBe(account.creditedCents);
    const history = await m.client.history({});
    expect(history.items.map((i) => i.pieceId)).toContain(pieces[0]!.pieceId);
    expect(history.total).toBe(3);
  });

  it('refuses a database restored from an older copy, and the alert shows in vpm datacenter alerts', async () => {
    const m = await funded();
    const token = m.client.token;
    const dbFile = join(t.dir, 'datacenter.db');
    const copy = join(t.dir, 'old-copy.db');
    db.close(); // the last connection to close folds the WAL into the file
    await t.running.close();
    await copyFile(dbFile, copy);
    await t.restart();
    const c = t.client(token);
    await c.dispense({ pieces: [piece(100)] });
    await c.dispense({ pieces: [piece(100)] });
    await t.running.close();
    await rm(`${dbFile}-wal`, { force: true });
    await rm(`${dbFile}-shm`, { force: true });
    await copyFile(copy, dbFile);
    await t.restart();
    db = openDb(t.dir);
    const restored = t.client(token);
    expect((await restored.account()).balanceCents).toBe(1900);
    await expectRefused({ client: restored, serial: m.serial }, 'FRESHNESS_MISMATCH');

    const { code, stdout } = await vpmInProcess(['datacenter', 'alerts', '--data', t.dir]);
    expect(code).toBe(0);
    const lines = stdout.split('\n').filter((l) => l.includes(m.serial));
    expect(lines.some((l) => l.includes('FRESHNESS_MISMATCH'))).toBe(true);
  });
});
