/**
 * The mailer binding inside the meter box (DESIGN.md "Who the meter belongs to is decided inside
 * the boxes"): dispense and credit carry the authentication box's signed grant and its bearer
 * token; the meter box checks the signature, the token, the expiry, and that the record's signed
 * account is the grant's mailer. A mismatch suspends the meter in the box's NVM until reinstate.
 */
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MailerAuth, MeterRecord } from '../../../server-mock/boxes/index';
import {
  grantProblem,
  signGrant,
  tokenHashOf,
  type VerifiedGrant,
} from '../../../server-mock/boxes/grant';
import { expectBoxError, freshBoxes, fundedMeter, mailerAuth, piece, signIn } from './helpers';
import type { Fixture } from './helpers';

let fx: Fixture;
let owner: MailerAuth;
let other: MailerAuth;
beforeAll(async () => {
  fx = await freshBoxes();
  owner = await mailerAuth(fx.boxes);
  other = await signIn(fx.boxes);
});
afterAll(async () => {
  await fx.dispose();
});

const dispense = (auth: MailerAuth, record: MeterRecord) =>
  fx.boxes.meter.dispense({ auth, requestId: randomUUID(), record, pieces: [piece()] });

/** Refused with `code`, and the meter's journal and suspension are as they were. */
async function refusedUnchanged(
  auth: MailerAuth,
  record: MeterRecord,
  code: 'GRANT_INVALID' | 'GRANT_EXPIRED',
): Promise<void> {
  const journal = await fx.boxes.meter.recover({ serial: record.serial });
  await expectBoxError(dispense(auth, record), code);
  await expectBoxError(
    fx.boxes.meter.credit({
      auth,
      requestId: randomUUID(),
      record,
      amountCents: 5,
      credit: { kind: 'refill', refillId: 'refill' },
    }),
    code,
  );
  expect(await fx.boxes.meter.recover({ serial: record.serial })).toEqual(journal);
  expect((await fx.boxes.meter.suspension({ serial: record.serial })).suspension).toBeNull();
}

describe('MeterBox', () => {
  describe('the session grant', () => {
    it('refuses a grant whose fields were changed, or that another key signed, with GRANT_INVALID', async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      const later = new Date(Date.parse(owner.grant.expiresAt) + 86_400_000).toISOString();
      await refusedUnchanged(
        { ...owner, grant: { ...owner.grant, expiresAt: later } },
        record,
        'GRANT_INVALID',
      );
      await refusedUnchanged(
        { ...other, grant: { ...other.grant, mailerId: owner.grant.mailerId } },
        record,
        'GRANT_INVALID',
      );
      const forgerKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      const { signature: _signature, ...body } = owner.grant;
      await refusedUnchanged(
        { ...owner, grant: signGrant(forgerKey, body) },
        record,
        'GRANT_INVALID',
      );
      expect((await dispense(owner, record)).record.counter).toBe(record.counter + 1);
    });

    it('refuses a real grant presented with another bearer token (a grant copied from the sessions table)', async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      await refusedUnchanged({ grant: owner.grant, token: other.token }, record, 'GRANT_INVALID');
      await refusedUnchanged({ grant: owner.grant, token: randomUUID() }, record, 'GRANT_INVALID');
    });

    it('checks the token and the signature of a grant it verified before, on every command', async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      const first = await dispense(owner, record); // the grant's signature is now remembered
      await refusedUnchanged(
        { grant: owner.grant, token: other.token },
        first.record,
        'GRANT_INVALID',
      );
      const forgerKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
      const { signature: _signature, ...body } = owner.grant;
      await refusedUnchanged(
        { ...owner, grant: signGrant(forgerKey, body) },
        first.record,
        'GRANT_INVALID',
      );
      await refusedUnchanged(
        { ...owner, grant: { ...owner.grant, sessionId: randomUUID() } },
        first.record,
        'GRANT_INVALID',
      );
      expect((await dispense(owner, first.record)).record.counter).toBe(record.counter + 2);
    });

    it('finds a remembered grant expired by the clock, and remembers no forged one', () => {
      const keys = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const expiresAt = new Date(Date.now() + 60_000).toISOString();
      const body = { mailerId: 'm1', sessionId: 's1', expiresAt, tokenHash: tokenHashOf('t1') };
      const grant = signGrant(keys.privateKey, body);
      const verified = new Map<string, VerifiedGrant>();
      expect(grantProblem(keys.publicKey, grant, new Date(), 't1', verified)).toBeUndefined();
      expect(verified.size).toBe(1);
      expect(grantProblem(keys.publicKey, grant, new Date(), 't2', verified)).toBe('wrong-token');
      expect(grantProblem(keys.publicKey, grant, new Date(), 't1', verified)).toBeUndefined();
      expect(grantProblem(keys.publicKey, grant, new Date(), 't2', verified)).toBe('wrong-token');
      const later = new Date(Date.now() + 120_000);
      expect(grantProblem(keys.publicKey, grant, later, 't1', verified)).toBe('expired');
      const forged = signGrant(
        generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey,
        body,
      );
      expect(grantProblem(keys.publicKey, forged, new Date(), 't1', verified)).toBe('forged');
      expect(grantProblem(keys.publicKey, forged, new Date(), 't1', verified)).toBe('forged');
      expect(verified.size).toBe(1);
      // The remembered signature with any signed field changed is checked again, and refused.
      const changes = {
        mailerId: 'm2',
        sessionId: 's2',
        expiresAt: new Date(Date.now() + 7_200_000).toISOString(),
        tokenHash: tokenHashOf('t2'),
      };
      for (const [field, value] of Object.entries(changes)) {
        const token = field === 'tokenHash' ? 't2' : 't1';
        const edited = { ...grant, [field]: value };
        expect(grantProblem(keys.publicKey, edited, new Date(), token, verified), field).toBe(
          'forged',
        );
      }
      expect(verified.size).toBe(1);
    });

    it('refuses an expired grant with GRANT_EXPIRED, by the meter box clock', async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      const brief = await signIn(fx.boxes, owner.grant.mailerId, 60);
      expect((await dispense(brief, record)).record.counter).toBe(record.counter + 1);
      const inTwoMinutes = new Date(Date.now() + 120_000).toISOString();
      await fx.boxes.restart('meter', { env: { VPM_BOX_CLOCK: inTwoMinutes } });
      try {
        const current = (await fx.boxes.meter.recover({ serial: record.serial }))!.record;
        await refusedUnchanged(brief, current, 'GRANT_EXPIRED');
      } finally {
        await fx.boxes.restart('meter');
      }
    });
  });

  describe('the mailer binding', () => {
    it("refuses another mailer's grant with GRANT_MISMATCH, suspends the meter, and only reinstate() lifts it", async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      const mismatch = await expectBoxError(dispense(other, record), 'GRANT_MISMATCH');
      expect(mismatch.details).toMatchObject({ serial: record.serial });
      const { suspension } = await fx.boxes.meter.suspension({ serial: record.serial });
      expect(suspension).toMatchObject({ code: 'GRANT_MISMATCH' });
      expect(suspension!.reason).toContain(other.grant.mailerId);

      // The owner's own grant now meets a suspended meter; a credit still goes through.
      await expectBoxError(dispense(owner, record), 'METER_SUSPENDED');
      await expectBoxError(
        fx.boxes.meter.credit({
          auth: other,
          requestId: randomUUID(),
          record,
          amountCents: 100,
          credit: { kind: 'refill', refillId: 'refill' },
        }),
        'GRANT_MISMATCH',
      );
      const { record: credited } = await fx.boxes.meter.credit({
        auth: owner,
        requestId: randomUUID(),
        record,
        amountCents: 100,
        credit: { kind: 'refill', refillId: 'refill' },
      });
      expect(credited.descendingCents).toBe(1100);
      await expectBoxError(dispense(owner, credited), 'METER_SUSPENDED');

      const { lifted } = await fx.boxes.meter.reinstate({
        serial: record.serial,
        reason: 'checked with the mailer: the swap was an operator error',
      });
      expect(lifted).toEqual(suspension);
      expect((await fx.boxes.meter.suspension({ serial: record.serial })).suspension).toBeNull();
      expect((await dispense(owner, credited)).record.descendingCents).toBe(1100 - 73);
      expect(
        (await fx.boxes.meter.reinstate({ serial: record.serial, reason: 'again' })).lifted,
      ).toBeNull();
    });

    it('keeps a suspension across a restart of the meter box (it lives in the NVM)', async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      await expectBoxError(dispense(other, record), 'GRANT_MISMATCH');
      await fx.boxes.restart('meter');
      await expectBoxError(dispense(owner, record), 'METER_SUSPENDED');
      await fx.boxes.meter.reinstate({ serial: record.serial, reason: 'test' });
      expect((await dispense(owner, record)).record.counter).toBe(record.counter + 1);
    });

    it('refuses reinstate() for a meter it does not know, and malformed arguments', async () => {
      await expectBoxError(
        fx.boxes.meter.reinstate({ serial: 'VPM999999999', reason: 'x' }),
        'UNKNOWN_METER',
      );
      await expectBoxError(
        fx.boxes.meter.reinstate({ serial: 'VPM999999999', reason: '' }),
        'BAD_REQUEST',
      );
      await expectBoxError(fx.boxes.meter.suspension({ serial: 'nope' }), 'BAD_REQUEST');
    });
  });
});
