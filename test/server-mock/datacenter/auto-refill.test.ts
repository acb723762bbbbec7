/**
 * Low-balance threshold and auto-refill (issue 5, "Refill"): a mailer who set a threshold and an
 * auto-refill amount, and paid once by card, is refilled by that amount when a dispense takes the
 * balance below the threshold; registers still sum to what was credited.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';
import { piece } from './support';

let t: TestDataCenter;
beforeAll(async () => {
  t = await startTestDataCenter();
});
afterAll(async () => {
  await t.close();
});

describe('auto-refill', () => {
  it('refills by the set amount when a dispense takes the balance below the threshold', async () => {
    const c = await t.mailer();
    await c.refill({
      amountCents: 1000,
      cardNumber: '4242424242424242',
      idempotencyKey: 'auto-first-1',
    });
    const set = await c.settings({ lowBalanceCents: 500, autoRefillCents: 2500 });
    expect([set.lowBalanceCents, set.autoRefillCents]).toEqual([500, 2500]);

    const above = await c.dispense({ pieces: [piece(400)] });
    expect(above.balanceCents).toBe(600); // still above the threshold: no refill

    await c.dispense({ pieces: [piece(200)] }); // 400 left: below 500, refilled by 2500
    const account = await c.account();
    expect(account.balanceCents).toBe(400 + 2500);
    expect(account.ascendingCents).toBe(600);
    expect(account.creditedCents).toBe(1000 + 2500);
    expect(account.ascendingCents + account.balanceCents).toBe(account.creditedCents);
  });

  it('does not refill without an auto-refill amount', async () => {
    const c = await t.mailer();
    await c.refill({
      amountCents: 1000,
      cardNumber: '4242424242424242',
      idempotencyKey: 'auto-none-1',
    });
    await c.settings({ lowBalanceCents: 900, autoRefillCents: null });
    const after = await c.dispense({ pieces: [piece(200)] });
    expect(after.balanceCents).toBe(800);
    expect((await c.account()).creditedCents).toBe(1000);
  });
});
