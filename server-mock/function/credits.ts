/**
 * @module function/credits
 * Refills (a card charge, then a meter box credit) and refunds (an unused piece within the refund
 * window, claimed first so an acceptance scan cannot interleave): each credit goes through the
 * meter box with the mailer's grant and is committed with a signed receipt in one transaction.
 */
import { randomUUID } from 'node:crypto';
import type * as Api from '../../shared/api/schemas';
import { formatDollars, MAX_CENTS } from '../../shared/money';
import { creditReference, type Boxes, type CreditFor, type MeterRecord } from '../boxes/api';
import type { MailerRow } from '../storage/storage';
import { ApiError } from './api-error';
import { canonicalJson, pieceIdFor, type Caller, type FlowContext } from './flow-context';
import type { MeterGateway } from './meter-gateway';

export class Credits {
  constructor(
    private readonly ctx: FlowContext,
    private readonly gateway: MeterGateway,
  ) {}

  /**
   * One credit through the meter box and its commit with what it was for; a credit the box's
   * journal held (a crash after the box, before the COMMIT) is found, not made again.
   */
  private async credit(
    caller: Caller,
    amountCents: number,
    credit: CreditFor,
    extra: {
      cardLast4?: string;
      cardFingerprint?: string;
      /** Called when the meter box refused, so nothing was credited. */
      refused?: () => Promise<void>;
    } = {},
  ): Promise<MeterRecord> {
    for (let attempt = 0; ; attempt++) {
      const record = await this.ctx.meterOf(caller.mailerId);
      let result: Awaited<ReturnType<Boxes['meter']['credit']>> | 'recovered';
      try {
        result = await this.gateway.run(record, (rec) =>
          this.ctx.boxes.meter.credit({
            requestId: randomUUID(),
            auth: caller.auth,
            record: rec,
            amountCents,
            credit,
          }),
        );
      } catch (error) {
        await extra.refused?.();
        throw error;
      }
      if (result === 'recovered') {
        if (await this.recorded(credit)) return this.ctx.meterOf(caller.mailerId);
        if (attempt >= 2)
          throw new ApiError('SERVICE_UNAVAILABLE', 'meter: recovery did not settle; try again');
        continue;
      }
      const createdAt = new Date().toISOString();
      const body = {
        kind: credit.kind,
        reference: creditReference(credit),
        amountCents,
        meter: record.serial,
        mailerId: caller.mailerId,
        at: createdAt,
      };
      const { signature } = await this.ctx.boxes.txn.sign({ kind: credit.kind, body });
      const receipt = canonicalJson(body);
      const base = { record: result.record, expectedCounter: record.counter };
      await this.ctx.storage.commitCredit(
        credit.kind === 'refill'
          ? {
              ...base,
              kind: 'refill',
              refill: {
                id: credit.refillId,
                mailerId: caller.mailerId,
                amountCents,
                cardLast4: extra.cardLast4 ?? '----',
                cardFingerprint: extra.cardFingerprint ?? null,
                createdAt,
                receipt,
                signature,
              },
            }
          : {
              ...base,
              kind: 'refund',
              refund: { pieceId: credit.pieceId, amountCents, createdAt, receipt, signature },
            },
      );
      return result.record;
    }
  }

  /** Whether the database holds this credit already. */
  private async recorded(credit: CreditFor): Promise<boolean> {
    switch (credit.kind) {
      case 'refill':
        return (await this.ctx.storage.getRefill(credit.refillId)) !== undefined;
      case 'refund':
        return (await this.ctx.storage.getPiece(credit.pieceId))?.status === 'refunded';
      default:
        return credit satisfies never;
    }
  }

  /** Refuses a credit that would take the balance past the product's one ceiling. */
  private checkCeiling(record: MeterRecord, amountCents: number, what: string): void {
    const after = record.descendingCents + amountCents;
    if (after > MAX_CENTS)
      throw new ApiError(
        'BALANCE_LIMIT',
        `${what}: ${formatDollars(amountCents)} would take the balance to ${formatDollars(after)}, past the limit of ${formatDollars(MAX_CENTS)}; nothing was charged`,
      );
  }

  async refill(caller: Caller, req: Api.RefillRequest): Promise<Api.Account> {
    const refillId = pieceIdFor(caller.mailerId, `refill:${req.idempotencyKey}`);
    return this.ctx.withMeter(await this.ctx.serialOf(caller.mailerId), async () => {
      const fingerprint = await this.ctx.cards.fingerprint(req.cardNumber);
      const done = await this.ctx.storage.getRefill(refillId);
      if (done) {
        if (
          done.amountCents !== req.amountCents ||
          (done.cardFingerprint !== null && done.cardFingerprint !== fingerprint)
        )
          throw new ApiError(
            'IDEMPOTENCY_CONFLICT',
            `refill: key ${req.idempotencyKey} was used for a refill of another amount or card; nothing was charged`,
          );
        return this.ctx.account(caller);
      }
      this.checkCeiling(await this.ctx.meterOf(caller.mailerId), req.amountCents, 'refill');
      const charge = await this.ctx.cards.charge(req.cardNumber, req.amountCents, refillId);
      if (!charge)
        throw new ApiError('CARD_DECLINED', 'refill: the card was declined; nothing was charged');
      await this.credit(
        caller,
        req.amountCents,
        { kind: 'refill', refillId },
        {
          cardLast4: charge.last4,
          cardFingerprint: fingerprint,
        },
      );
      // The card token is all a refill owns: the mailer's settings may have changed meanwhile.
      await this.ctx.storage.setCardToken(caller.mailerId, charge.cardToken);
      this.ctx.forgetMailer(caller.mailerId);
      this.ctx.log('refill', { mailerId: caller.mailerId, amountCents: req.amountCents });
      return this.ctx.account(caller);
    });
  }

  /**
   * Refills by the mailer's auto-refill amount when the balance fell below the threshold. It runs
   * inside the mailer's own dispense request and carries that request's grant: like every credit,
   * the meter box takes it only for the grant's own meter. There is no credit without a grant.
   */
  async maybeAutoRefill(
    caller: Caller,
    mailer: MailerRow,
    record: MeterRecord,
  ): Promise<MeterRecord | undefined> {
    if (
      !mailer.autoRefillCents ||
      !mailer.cardToken ||
      record.descendingCents >= mailer.lowBalanceCents ||
      record.descendingCents + mailer.autoRefillCents > MAX_CENTS
    )
      return;
    const refillId = pieceIdFor(mailer.id, `auto:${record.serial}:${record.counter}`);
    const charge = await this.ctx.cards.chargeToken(
      mailer.cardToken,
      mailer.autoRefillCents,
      refillId,
    );
    if (!charge) {
      this.ctx.log('auto-refill-declined', { mailerId: mailer.id });
      return undefined;
    }
    return this.credit(
      caller,
      mailer.autoRefillCents,
      { kind: 'refill', refillId },
      { cardLast4: charge.last4 },
    );
  }

  async refund(caller: Caller, req: Api.RefundRequest): Promise<Api.RefundResponse> {
    const record = await this.ctx.meterOf(caller.mailerId);
    return this.ctx.withMeter(record.serial, async () => {
      const piece = await this.ctx.storage.getPiece(req.pieceId);
      if (!piece || piece.mailerId !== caller.mailerId)
        throw new ApiError('PIECE_NOT_FOUND', `piece ${req.pieceId}: not found in your history`);
      if (piece.status !== 'issued')
        throw new ApiError('REFUND_NOT_ALLOWED', `piece ${req.pieceId}: already refunded`);
      if (Date.now() - Date.parse(piece.createdAt) > this.ctx.refundWindowMs) {
        throw new ApiError(
          'REFUND_NOT_ALLOWED',
          `piece ${req.pieceId}: older than 30 days; refunds are for unused pieces within 30 days`,
        );
      }
      this.checkCeiling(await this.ctx.meterOf(caller.mailerId), piece.postageCents, 'refund');
      // The piece is claimed for the refund first, in one transaction that an acceptance scan
      // cannot interleave with: a piece is scanned or refunded, never both.
      if (
        (await this.ctx.storage.claimForRefund(piece.pieceId, new Date().toISOString())) ===
        'scanned'
      )
        throw new ApiError(
          'REFUND_NOT_ALLOWED',
          `piece ${req.pieceId}: the post office has already scanned it`,
        );
      const after = await this.credit(
        caller,
        piece.postageCents,
        { kind: 'refund', pieceId: piece.pieceId },
        { refused: () => this.ctx.storage.releaseRefundClaim(piece.pieceId) },
      );
      this.ctx.log('refund', { mailerId: caller.mailerId, pieceId: piece.pieceId });
      return {
        pieceId: piece.pieceId,
        refundedCents: piece.postageCents,
        balanceCents: after.descendingCents,
      };
    });
  }
}
