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
import { piecesFrom, type AskedFields, type MeterGateway } from './meter-gateway';
import { outboxReport } from './postal-witness';
import { DEFAULT_MAILER_ID } from './tracking';

/** Days after today a mailing date may be when the data center does not say. */
export const DEFAULT_MAILING_WINDOW_DAYS = 7;

/** The answer's form of an indicium: base64 of the stored bytes (a view, not a copy). */
const base64Of = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');

export class Dispense {
  constructor(
    private readonly ctx: FlowContext,
    private readonly gateway: MeterGateway,
    private readonly credits: Credits,
  ) {}

  async dispense(caller: Caller, req: Api.DispenseRequest): Promise<Api.DispenseResponse> {
    const mailer =
      this.ctx.knownMailer(caller.mailerId) ?? (await this.ctx.mailerOf(caller.mailerId));
    const today = new Date().toISOString().slice(0, 10);
    const mailingDate = req.mailingDate ?? today;
    const window = this.ctx.options.mailingWindowDays ?? DEFAULT_MAILING_WINDOW_DAYS;
    const days =
      mailingDate === today ? 0 : (Date.parse(mailingDate) - Date.parse(today)) / 86_400_000;
    if (!isCalendarDate(mailingDate) || !Number.isFinite(days) || days < 0 || days > window) {
      // Checked before anything is asked of the meter box: a refused date charges nothing.
      throw new ApiError(
        'BAD_MAILING_DATE',
        `mailing date ${mailingDate}: must be today (${today}) or a later day within ${window} days; nothing was charged, choose a date in that window`,
      );
    }
    const asked = req.pieces;
    const ids: string[] = [];
    const keys = new Set<string>();
    for (const piece of asked) {
      if (keys.has(piece.idempotencyKey))
        throw new ApiError(
          'BAD_REQUEST',
          `pieces: idempotency key ${piece.idempotencyKey} appears twice`,
        );
      keys.add(piece.idempotencyKey);
      ids.push(pieceIdFor(caller.mailerId, piece.idempotencyKey));
    }
    const destinations = asked.map((p) => p.destinationZip.replace('-', ''));
    const serial =
      this.ctx.knownSerial(caller.mailerId) ?? (await this.ctx.serialOf(caller.mailerId));
    return this.ctx.withMeter(serial, async () => {
      for (let attempt = 0; ; attempt++) {
        // The record as stored now and the pieces already stored under these keys, in one read.
        const state = await this.ctx.storage.getDispenseState(serial, ids);
        if (!state) throw new ApiError('NOT_FOUND', 'account: this mailer has no meter');
        const { record, pieces: existing } = state;
        // Indexes of the pieces asked for that are not stored yet.
        const todo: number[] = [];
        for (let i = 0; i < ids.length; i++) {
          const row = existing[i];
          const piece = asked[i] as Api.PieceSpec;
          if (!row) {
            todo.push(i);
            continue;
          }
          if (
            row.postageCents !== piece.postageCents ||
            row.mailClass !== piece.mailClass ||
            row.destinationZip !== destinations[i] ||
            (req.mailingDate !== undefined && row.mailingDate !== req.mailingDate)
          ) {
            throw new ApiError(
              'IDEMPOTENCY_CONFLICT',
              `piece ${i + 1}: key ${piece.idempotencyKey} was used for a different piece`,
            );
          }
        }
        // The answer's pieces, by the index of the piece asked for.
        const answer: (Api.IssuedPiece | undefined)[] = existing.map((row, i) =>
          row ? this.issued(row, true, (asked[i] as Api.PieceSpec).idempotencyKey) : undefined,
        );
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
              pieces: todo.map((i) => {
                const p = asked[i] as Api.PieceSpec;
                return {
                  pieceId: ids[i] as string,
                  postageCents: p.postageCents,
                  mailClass: p.mailClass,
                  originZip: mailer.originZip,
                  destinationZip: destinations[i] as string,
                  mailingDate,
                };
              }),
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
          const keyOf = new Map<string, string>();
          const fields = new Map<string, AskedFields>();
          const indexOf = new Map<string, number>();
          for (const i of todo) {
            const p = asked[i] as Api.PieceSpec;
            const id = ids[i] as string;
            keyOf.set(id, p.idempotencyKey);
            fields.set(id, {
              mailClass: p.mailClass,
              originZip: mailer.originZip,
              destinationZip: destinations[i] as string,
              mailingDate,
              ...(p.weightOz === undefined ? {} : { weightOz: p.weightOz }),
            });
            indexOf.set(id, i);
          }
          const issued = piecesFrom(
            result.record,
            caller.mailerId,
            mailer.originZip,
            result.indicia,
            keyOf,
            fields,
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
            issued.forEach((row, j) => {
              const trackingNumber = tracking[j];
              const i = indexOf.get(row.pieceId);
              if (i === undefined) return;
              answer[i] = this.issued(
                row,
                false,
                (asked[i] as Api.PieceSpec).idempotencyKey,
                trackingNumber,
              );
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
        const pieces = answer.map((piece) => {
          if (!piece) throw new ApiError('INTERNAL', 'dispense: a piece went missing');
          return piece;
        });
        return { pieces, balanceCents: latest.descendingCents };
      }
    });
  }

  /** A piece as answered (the serializer writes the schema's fields in the schema's order). */
  private issued(
    row: PieceRow,
    replayed: boolean,
    key: string | null,
    trackingNumber = row.trackingNumber,
  ): Api.IssuedPiece {
    const piece: Api.IssuedPiece = {
      pieceId: row.pieceId,
      idempotencyKey: key,
      indicium: base64Of(row.indicium),
      postageCents: row.postageCents,
      ascendingCents: row.ascendingCents,
      descendingCents: row.descendingCents,
      mailClass: row.mailClass as Api.IssuedPiece['mailClass'],
      destinationZip: row.destinationZip,
      mailingDate: row.mailingDate,
      createdAt: row.createdAt,
      status: row.status,
      replayed,
    };
    if (trackingNumber) piece.trackingNumber = trackingNumber;
    return piece;
  }
}
