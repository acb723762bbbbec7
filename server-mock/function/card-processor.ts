/**
 * @module function/card-processor
 * THE ONLY FAKE IN THE DATA CENTER: a stand-in for the card processor at the outside border
 * (prepaid refills). It never moves money. It accepts the documented test card numbers below and
 * declines the rest, like a processor's sandbox.
 *
 * | card number        | outcome                  |
 * |--------------------|--------------------------|
 * | 4242424242424242   | approved                 |
 * | 5555555555554444   | approved                 |
 * | 4000000000000002   | declined (CARD_DECLINED) |
 * | anything else      | declined (CARD_DECLINED) |
 */
import { createHash } from 'node:crypto';

export const TEST_CARDS = {
  approved: ['4242424242424242', '5555555555554444'],
  declined: ['4000000000000002'],
} as const;

export interface Charge {
  chargeId: string;
  last4: string;
  /** A token for charging the same card again (auto-refill); never the card number. */
  cardToken: string;
}

export interface CardProcessor {
  /** Charges a card; undefined when declined. */
  charge(
    cardNumber: string,
    amountCents: number,
    idempotencyKey: string,
  ): Promise<Charge | undefined>;
  chargeToken(
    cardToken: string,
    amountCents: number,
    idempotencyKey: string,
  ): Promise<Charge | undefined>;
  /** The processor's fingerprint of a card: the same card gives the same one; never the number. */
  fingerprint(cardNumber: string): Promise<string>;
}

export class FakeCardProcessor implements CardProcessor {
  async charge(
    cardNumber: string,
    amountCents: number,
    idempotencyKey: string,
  ): Promise<Charge | undefined> {
    const index = (TEST_CARDS.approved as readonly string[]).indexOf(cardNumber);
    if (index < 0 || amountCents <= 0) return undefined;
    const chargeId = `ch_test_${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24)}`;
    return { chargeId, last4: cardNumber.slice(-4), cardToken: `tok_test_${index}` };
  }

  async chargeToken(
    cardToken: string,
    amountCents: number,
    idempotencyKey: string,
  ): Promise<Charge | undefined> {
    const card = /^tok_test_(\d)$/.exec(cardToken);
    const number = card ? TEST_CARDS.approved[Number(card[1]) as 0 | 1] : undefined;
    return number === undefined ? undefined : this.charge(number, amountCents, idempotencyKey);
  }

  async fingerprint(cardNumber: string): Promise<string> {
    return `fp_test_${createHash('sha256').update(`fake-processor|${cardNumber}`).digest('hex').slice(0, 24)}`;
  }
}
