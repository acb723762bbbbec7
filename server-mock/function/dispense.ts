/**
 * @module function/dispense
 * Postage (patent Fig. 3 and Fig. 4): the mailer's pieces, each named by its idempotency key,
 * go through the meter box in one command, and the new record and the pieces are committed in
 * one transaction before any indicium is answered. A retried key finds its piece; the same key
 * for another piece is refused.
 */
import { randomUUID } from 'node:crypto';
import type * as Api from '../../shared/api/schemas';
import { isCalendarDate } from '../../shared/calendar-date';
import type { PieceRow } from '../storage/storage';
import { StorageConflictError } from '../storage/storage';
import { ApiError } from './api-error';
import type { Credits } from './credits';
import { pieceIdFor, type Caller, type FlowContext } from './flow-context';
import { piecesFrom, type MeterGateway } from './meter-gateway';
import { outboxReport } from './postal-witness';
import { DEFAULT_MAILER_ID } from './tracking';

/** Days after today a mailing date may be when the data center does not say. */
export const DEFAULT_MAILING_WINDOW_DAYS = 7;

const today = (): string => new Date().toISOString().slice(0, 10);

export class Dispense {
  constructor(
    private readonly ctx: FlowContext,
    private readonly gateway: MeterGateway,
    private readonly credits: Credits,
  ) {}

  async dispense(caller: Caller, req: Api.DispenseRequest): Promise<Api.DispenseResponse> {
    const mailer = await this.ctx.mailerOf(caller.mailerId);
    const mailingDate = req.mailingDate ?? today();
    const days = (Date.parse(mailingDate) - Date.parse(today())) / 86_400_000;
    const window = this.ctx.options.mailingWindowDays ?? DEFAULT_MAILING_WINDOW_DAYS;
    if (!isCalendarDate(mailingDate) || !Number.isFinite(days) || days < 0 || days > window) {
      // Checked before anything is asked of the meter box: a refused date charges nothing.
      throw new ApiError(
        'BAD_MAILING_DATE',
        `mailing date ${mailingDate}: must be today (${today()}) or a later day within ${window} days; nothing was charged, choose a date in that window`,
      );
    }
    const keys = new Set<string>();
    for (const piece of req.pieces) {
      if (keys.has(piece.idempotencyKey))
        throw new ApiError(
          'BAD_REQUEST',
          `pieces: idempotency key ${piece.idempotencyKey} appears twice`,
        );
      keys.add(piece.idempotencyKey);
    }
    return this.ctx.withMeter(await this.ctx.serialOf(caller.mailerId), async () => {
      for (let attempt = 0; ; attempt++) {
        const record = await this.ctx.meterOf(caller.mailerId);
        const ids = req.pieces.map((p) => pieceIdFor(caller.mailerId, p.idempotencyKey));
        const existing = await Promise.all(ids.map((id) => this.ctx.storage.getPiece(id)));
        existing.forEach((row, i) => {
          const asked = req.pieces[i] as Api.PieceSpec;
          const destination = asked.destinationZip.replace('-', '');
          if (
            row &&
            (row.postageCents !== asked.postageCents ||
              row.mailClass !== asked.mailClass ||
              row.destinationZip !== destination ||
              (req.mailingDate !== undefined && row.mailingDate !== req.mailingDate))
          ) {
            throw new ApiError(
              'IDEMPOTENCY_CONFLICT',
              `piece ${i + 1}: key ${asked.idempotencyKey} was used for a different piece`,
            );
          }
        });
        const todo = req.pieces
          .map((p, i) => ({ p, id: ids[i] as string }))
          .filter((_, i) => !existing[i]);
        let fresh: PieceRow[] = [];
        let latest = record; // the record after this request: its balance is the answer's
        if (todo.length > 0) {
          // Status and funds are the meter box's to judge: the stored record is trusted only
          // after the box verified its MAC and freshness (a tampered status or register must
          // raise a fraud alert, not a plain refusal).
          const result = await this.gateway.run(record, (rec) =>
            this.ctx.boxes.meter.dispense({
              requestId: randomUUID(),
              auth: caller.auth,
              record: rec,
              pieces: todo.map((t) => ({
                pieceId: t.id,
                postageCents: t.p.postageCents,
                mailClass: t.p.mailClass,
                originZip: mailer.originZip,
                destinationZip: t.p.destinationZip.replace('-', ''),
                mailingDate,
              })),
            }),
          );
          if (result === 'recovered') {
            if (attempt >= 2)
              throw new ApiError(
                'SERVICE_UNAVAILABLE',
                'meter: recovery did not settle; try again',
              );
            continue;
          }
          const keyOf = new Map(todo.map((t) => [t.id, t.p.idempotencyKey]));
          const asked = new Map(
            todo.map((t) => [
              t.id,
              {
                mailClass: t.p.mailClass,
                originZip: mailer.originZip,
                destinationZip: t.p.destinationZip.replace('-', ''),
                mailingDate,
                ...(t.p.weightOz === undefined ? {} : { weightOz: t.p.weightOz }),
              },
            ]),
          );
          const issued = piecesFrom(
            result.record,
            caller.mailerId,
            mailer.originZip,
            result.indicia,
            keyOf,
            asked,
          );
          try {
            // The storage gives the pieces their tracking numbers in the same commit.
            const tracking = await this.ctx.storage.commitDispense({
              kind: 'dispense',
              record: result.record,
              expectedCounter: record.counter,
              pieces: issued,
              trackingMailerId: this.ctx.options.uspsMailerId ?? DEFAULT_MAILER_ID,
              ...(result.report ? { report: outboxReport(result.report) } : {}),
            });
            fresh = issued.map((row, i) => {
              const trackingNumber = tracking[i];
              return trackingNumber ? { ...row, trackingNumber } : row;
            });
            if (result.report) this.ctx.options.witness?.kick();
          } catch (error) {
            if (error instanceof StorageConflictError)
              throw new ApiError(
                'SERVICE_UNAVAILABLE',
                'meter: the record changed meanwhile; try again',
              );
            throw error;
          }
          latest =
            (await this.credits.maybeAutoRefill(caller, mailer, result.record)) ?? result.record;
        }
        const freshById = new Map(fresh.map((row) => [row.pieceId, row]));
        const pieces = ids.map((id, i) => {
          const row = existing[i] ?? freshById.get(id);
          if (!row) throw new ApiError('INTERNAL', 'dispense: a piece went missing');
          return this.issued(
            row,
            existing[i] !== undefined,
            (req.pieces[i] as Api.PieceSpec).idempotencyKey,
          );
        });
        return { pieces, balanceCents: latest.descendingCents };
      }
    });
  }

  private issued(
    row: PieceRow,
    replayed: boolean,
    key: string | null = row.idempotencyKey,
  ): Api.IssuedPiece {
    return {
      pieceId: row.pieceId,
      idempotencyKey: key,
      indicium: Buffer.from(row.indicium).toString('base64'),
      postageCents: row.postageCents,
      ascendingCents: row.ascendingCents,
      descendingCents: row.descendingCents,
      mailClass: row.mailClass as Api.IssuedPiece['mailClass'],
      destinationZip: row.destinationZip,
      mailingDate: row.mailingDate,
      createdAt: row.createdAt,
      status: row.status,
      ...(row.trackingNumber ? { trackingNumber: row.trackingNumber } : {}),
      replayed,
    };
  }
}
