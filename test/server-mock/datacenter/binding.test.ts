/**
 * Who owns a meter is decided inside the meter box (issue 13, "The mailer binding, checked inside
 * the box"): an operator with file access points one mailer's account at another's meter, or
 * grafts another mailer's grant onto a session; each is refused, nothing is charged, and a meter
 * reached by the wrong mailer stays suspended — whatever the tables say afterwards — until
 * `vpm datacenter reinstate` lifts it with a recorded reason. A dormant meter whose record MAC
 * has aged out of the key window is re-MACed and dispenses, with no fraud alert.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import type { DataCenterClient } from '../../../client/services/datacenter-client';
import { MAC_PERIOD_WINDOW } from '../../../server-mock/boxes/index';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';
import { vpmInProcess as vpm } from '../../helpers/cli';
import { TEST_BOX_ENTRY } from '../../helpers/boxes';
import { closeRaw, errorCode, openDb, piece, raw } from './support';

const CARD = '4242424242424242';
let refills = 0;

async function fundedMailer(t: TestDataCenter, cents: number): Promise<DataCenterClient> {
  const client = await t.mailer();
  await client.refill({
    amountCents: cents,
    cardNumber: CARD,
    idempotencyKey: `binding-refill-${++refills}`,
  });
  return client;
}

async function alertsOf(t: TestDataCenter, serial: string) {
  const answer = await raw(t, 'GET', '/v1/admin/alerts', { token: t.adminToken });
  const { alerts } = answer.body as {
    alerts: { meterSerial: string | null; code: string; reason: string; createdAt: string }[];
  };
  return alerts.filter((a) => a.meterSerial === serial);
}

/** A dispense through raw HTTPS: its status and error code. */
async function spend(t: TestDataCenter, client: DataCenterClient) {
  const answer = await raw(t, 'POST', '/v1/pieces', {
    token: client.token,
    body: { pieces: [piece(50)] },
  });
  return { status: answer.status, code: errorCode(answer) };
}

/** The same session against the restarted data center (a new port). */
const again = (t: TestDataCenter, client: DataCenterClient) => t.client(client.token);

/** Edits the database file as an operator with file access would, the data center stopped. */
async function withStoppedDatabase(
  t: TestDataCenter,
  edit: (db: Database.Database) => void,
): Promise<void> {
  await t.running.close();
  const db = openDb(t.dir);
  try {
    edit(db);
  } finally {
    db.close();
  }
  await t.restart();
}

function ownerOf(db: Database.Database, serial: string): string {
  return (
    db.prepare('SELECT mailer_id FROM meters WHERE serial = ?').get(serial) as {
      mailer_id: string;
    }
  ).mailer_id;
}

/** Points each meter at the other's mailer (meters.mailer_id is UNIQUE: through a placeholder). */
function swapOwners(db: Database.Database, a: string, b: string): void {
  const ownerA = ownerOf(db, a);
  const ownerB = ownerOf(db, b);
  db.pragma('foreign_keys = OFF'); // the attacker's own connection
  const set = db.prepare('UPDATE meters SET mailer_id = ? WHERE serial = ?');
  db.transaction(() => {
    set.run('placeholder', a);
    set.run(ownerA, b);
    set.run(ownerB, a);
  })();
}

describe('DataCenter: the mailer binding', () => {
  let t: TestDataCenter;
  beforeAll(async () => {
    t = await startTestDataCenter();
  });
  afterAll(async () => {
    await closeRaw(t);
    await t.close();
  });

  it("refuses a spend on another mailer's meter after meters.mailer_id is swapped, suspends that meter, and only vpm datacenter reinstate lifts it", async () => {
    let alice = await fundedMailer(t, 2000);
    let bob = await fundedMailer(t, 3000);
    const aliceSerial = (await alice.account()).meterSerial;
    const bobSerial = (await bob.account()).meterSerial;

    await withStoppedDatabase(t, (db) => swapOwners(db, aliceSerial, bobSerial));
    alice = again(t, alice);
    // The tables now send Alice's request to Bob's meter: the meter box refuses it.
    expect(await spend(t, alice)).toEqual({ status: 409, code: 'METER_INTEGRITY' });
    const [mismatch] = await alertsOf(t, bobSerial);
    expect(mismatch).toMatchObject({ code: 'GRANT_MISMATCH' });
    expect(mismatch!.reason).toMatch(/suspended until an administrator reinstates it/);

    // The attacker puts the column back and deletes the alerts: Bob's meter stays suspended.
    await withStoppedDatabase(t, (db) => {
      swapOwners(db, aliceSerial, bobSerial);
      db.prepare('DELETE FROM fraud_alerts').run();
    });
    [alice, bob] = [again(t, alice), again(t, bob)];
    expect(await spend(t, bob)).toEqual({ status: 423, code: 'METER_SUSPENDED' });
    expect(await bob.account()).toMatchObject({ status: 'suspended', balanceCents: 3000 });
    expect((await alice.dispense({ pieces: [piece(100)] })).balanceCents).toBe(1900);

    // The administrator reinstates it, with the data center stopped, and the reason is recorded.
    await t.running.close();
    const reason = 'operator error confirmed by the audit of ticket 4711';
    const reinstate = ['datacenter', 'reinstate', '--data', t.dir, bobSerial, '--reason', reason];
    const short = await vpm([...reinstate, '--shares-stdin'], { input: `${t.shares[0]}\n` });
    expect(short.code).toBe(1);
    expect(short.stderr).toMatch(/1 valid custodian share given, 2 needed/);
    const done = await vpm([...reinstate, '--shares-stdin'], {
      input: t.shares.slice(0, 2).join('\n'),
    });
    expect(done.stderr).toBe('');
    expect(done.code).toBe(0);
    expect(done.stdout).toContain(`Meter ${bobSerial} reinstated`);
    expect(done.stdout).toContain('GRANT_MISMATCH');
    const listed = await vpm(['datacenter', 'alerts', '--data', t.dir]);
    expect(listed.stdout).toMatch(new RegExp(`${bobSerial}\\s+REINSTATED: .*${reason}`));
    await t.restart();
    bob = again(t, bob);

    const [record] = await alertsOf(t, bobSerial);
    expect(record).toMatchObject({ code: 'REINSTATED' });
    expect(Date.parse(record!.createdAt)).toBeGreaterThan(Date.now() - 600_000);
    expect(await bob.account()).toMatchObject({ status: 'active', balanceCents: 3000 });
    expect((await bob.dispense({ pieces: [piece(100)] })).balanceCents).toBe(2900);
  }, 240_000); // three restarts and three CLI command lines

  it('refuses a reinstate while the data center runs', async () => {
    const result = await vpm(
      [
        'datacenter',
        'reinstate',
        '--data',
        t.dir,
        'VPM000000001',
        '--reason',
        'x',
        '--shares-stdin',
      ],
      { input: t.shares.join('\n') },
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/is running .*stop it first/);
  });

  it("refuses a session whose row was given another mailer's grant, and charges nothing", async () => {
    const victim = await fundedMailer(t, 2000);
    const attacker = await t.mailer();
    const { username } = await attacker.account();
    const victimSerial = (await victim.account()).meterSerial;
    await withStoppedDatabase(t, (db) => {
      const grant = db
        .prepare(
          'SELECT grant_json FROM sessions WHERE mailer_id = (SELECT mailer_id FROM meters WHERE serial = ?)',
        )
        .get(victimSerial) as { grant_json: string };
      const victimId = ownerOf(db, victimSerial);
      // The attacker's own session row (its token hash stays) now carries the victim's grant.
      db.prepare(
        'UPDATE sessions SET grant_json = ?, mailer_id = ? WHERE mailer_id = (SELECT id FROM mailers WHERE username = ?)',
      ).run(grant.grant_json, victimId, username);
    });
    const answer = await spend(t, again(t, attacker));
    expect(answer.status).toBe(401);
    const victimNow = again(t, victim);
    expect((await victimNow.account()).balanceCents).toBe(2000);
    expect((await victimNow.history({})).total).toBe(0);
  });
});

describe('DataCenter: a dormant meter', () => {
  let t: TestDataCenter;
  beforeAll(async () => {
    t = await startTestDataCenter({ boxEntry: TEST_BOX_ENTRY });
  });
  afterAll(async () => {
    delete process.env.VPM_BOX_CLOCK;
    await closeRaw(t);
    await t.close();
  });

  it('re-MACs a record older than the MAC window and dispenses, with no fraud alert', async () => {
    const mailer = await fundedMailer(t, 1000);
    const { meterSerial, username } = await mailer.account();
    const db = openDb(t.dir);
    const before = db
      .prepare('SELECT mac_period FROM meter_records WHERE serial = ?')
      .get(meterSerial) as { mac_period: string };
    db.close();

    // The boxes wake up MAC_PERIOD_WINDOW + 1 months later (their clock, through the test harness).
    const later = new Date();
    later.setUTCDate(1);
    later.setUTCMonth(later.getUTCMonth() + MAC_PERIOD_WINDOW + 1);
    await t.running.close();
    process.env.VPM_BOX_CLOCK = later.toISOString();
    try {
      await t.restart();
    } finally {
      delete process.env.VPM_BOX_CLOCK;
    }
    // The old session's grant has expired by the boxes' clock: the mailer signs in again.
    expect((await spend(t, again(t, mailer))).code).toBe('SESSION_EXPIRED');
    const signedIn = t.client();
    await signedIn.signIn({ username, password: 'correct horse battery' });
    const { pieces, balanceCents } = await signedIn.dispense({ pieces: [piece(100)] });
    expect(pieces).toHaveLength(1);
    expect(balanceCents).toBe(900);

    const after = openDb(t.dir);
    const row = after
      .prepare('SELECT mac_period, counter FROM meter_records WHERE serial = ?')
      .get(meterSerial) as { mac_period: string; counter: number };
    after.close();
    expect(row.mac_period).toBe(later.toISOString().slice(0, 7));
    expect(row.mac_period).not.toBe(before.mac_period);
    expect(await alertsOf(t, meterSerial)).toEqual([]);
  });
});
