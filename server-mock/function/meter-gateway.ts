/**
 * @module function/meter-gateway
 * The function server's one way to the meter box (patent Fig. 4, part 44): every command on a
 * stored meter record passes here, which turns the box's refusals into fraud alerts and API
 * errors, re-MACs a dormant meter's record, and stores the box's journaled last command when the
 * database never got it (the data center stopped between the box's answer and the COMMIT).
 */
import { decodeIndicium, INDICIUM_LENGTH, PAYLOAD_LENGTH } from '../../shared/indicium/codec';
import {
  BoxError,
  creditReference,
  type IssuedIndicium,
  type JournalEntry,
  type MeterRecord,
  type MeterSuspension,
} from '../boxes/api';
import { MAC_PERIOD_WINDOW, periodDistance, periodOf } from '../boxes/record-mac';
import type { PieceRow } from '../storage/storage';
import { withAllocatedTrackingNumbers } from '../storage/tracking-numbers';
import { ApiError } from './api-error';
import { canonicalJson, type FlowContext } from './flow-context';
import { outboxReport } from './postal-witness';
import { DEFAULT_MAILER_ID } from './tracking';

/**
 * A record MACed this many key periods ago is re-MACed (meter box remac) before its next command,
 * well inside the window, so a dormant meter never reaches the end of it.
 */
export const REMAC_AFTER_PERIODS = MAC_PERIOD_WINDOW - 6;

/** What a data center asked the meter box to sign for a piece, beside what the box answers. */
export type AskedFields = Pick<
  PieceRow,
  'mailClass' | 'originZip' | 'destinationZip' | 'mailingDate' | 'weightOz'
>;

/** The transaction records of indicia the meter box issued. */
export function piecesFrom(
  record: MeterRecord,
  mailerId: string,
  originZip: string,
  indicia: IssuedIndicium[],
  keys: Map<string, string>,
  asked?: Map<string, AskedFields>,
): PieceRow[] {
  const createdAt = new Date().toISOString();
  return indicia.map((issued) => {
    const bytes = new Uint8Array(Buffer.from(issued.indicium, 'base64'));
    // What this data center asked the box to sign; from a journal, what the indicium says.
    const given = asked?.get(issued.pieceId);
    const fields = given ?? decodeIndicium(bytes).fields;
    return {
      pieceId: issued.pieceId,
      meterSerial: record.serial,
      mailerId,
      idempotencyKey: keys.get(issued.pieceId) ?? null,
      indicium: bytes,
      signature: bytes.slice(PAYLOAD_LENGTH, INDICIUM_LENGTH),
      postageCents: issued.postageCents,
      ascendingCents: issued.ascendingCents,
      descendingCents: issued.descendingCents,
      mailClass: fields.mailClass,
      originZip: fields.originZip || originZip,
      destinationZip: fields.destinationZip,
      mailingDate: fields.mailingDate,
      createdAt,
      status: 'issued' as const,
      ...(given?.weightOz === undefined ? {} : { weightOz: given.weightOz }),
    };
  });
}

export class MeterGateway {
  constructor(private readonly ctx: FlowContext) {}

  /**
   * Runs one meter box command on the stored record. A MAC failure, a freshness mismatch that
   * the box's journal does not explain, or a record of another account than the caller's grant
   * ends the transaction with a fraud alert, and the meter box has suspended the meter. A record
   * exactly one step behind the box (a crash between box and database) is recovered from the
   * journal, and a record whose MAC period is old is re-MACed; then the caller starts over.
   *
   * Which alerts suspend the meter (in the meter box's NVM, until `reinstate`):
   * METER_RECORD_BAD_MAC, FRESHNESS_MISMATCH (not the journaled predecessor), GRANT_MISMATCH.
   * Which do not: METER_RECORD_MALFORMED (the box never saw a record it could check),
   * GRANT_INVALID (a forged session: it reached no meter), LOGIN_LOCKOUT,
   * LOGIN_RECORD_BAD_SIGNATURE, UNRECORDED_INDICIUM. An aged MAC period is no alert at all.
   */
  async run<T>(
    record: MeterRecord,
    command: (record: MeterRecord) => Promise<T>,
  ): Promise<T | 'recovered'> {
    try {
      const age = periodDistance(record.macPeriod, periodOf(new Date()));
      if (age !== undefined && age >= REMAC_AFTER_PERIODS) {
        await this.remac(record);
        return 'recovered';
      }
      return await command(record);
    } catch (error) {
      if (!(error instanceof BoxError)) throw error;
      const suspended = 'the meter is suspended until an administrator reinstates it';
      switch (error.code) {
        case 'METER_RECORD_BAD_MAC':
          await this.ctx.alert(
            record.serial,
            error.code,
            `meter record failed its MAC check: altered or swapped (${error.message}); ${suspended}`,
          );
          throw new ApiError(
            'METER_INTEGRITY',
            `meter ${record.serial}: the stored meter record failed its security check; nothing was charged`,
          );
        case 'GRANT_MISMATCH':
          await this.ctx.alert(
            record.serial,
            error.code,
            `a mailer's request reached a meter its grant does not own (${error.message}); ${suspended}`,
          );
          throw new ApiError(
            'METER_INTEGRITY',
            `meter ${record.serial}: the meter record is not this account's; nothing was charged`,
          );
        case 'GRANT_INVALID':
          await this.ctx.alert(
            record.serial,
            error.code,
            `a session grant the authentication box did not issue for this token: ${error.message}`,
          );
          throw new ApiError('UNAUTHENTICATED', 'session: not valid; sign in again');
        case 'GRANT_EXPIRED':
          throw new ApiError('SESSION_EXPIRED', 'session: expired; sign in again');
        case 'RECORD_MAC_EXPIRED':
          await this.remac(record);
          return 'recovered';
        case 'FRESHNESS_MISMATCH': {
          const journal = await this.ctx.boxes.meter.recover({ serial: record.serial });
          if (journal && journal.record.counter === record.counter + 1) {
            await this.storeRecovered(record, journal);
            return 'recovered';
          }
          await this.ctx.alert(
            record.serial,
            error.code,
            `meter record is not the one the meter box issued last (stale, replayed or rolled back): ${error.message}; ${suspended}`,
          );
          throw new ApiError(
            'METER_INTEGRITY',
            `meter ${record.serial}: the stored meter record is out of date; nothing was charged`,
          );
        }
        case 'INSUFFICIENT_FUNDS':
          throw new ApiError(
            'INSUFFICIENT_FUNDS',
            `postage: more than the balance of ${record.descendingCents} cents`,
          );
        case 'METER_SUSPENDED':
          throw new ApiError(
            'METER_SUSPENDED',
            `meter ${record.serial}: suspended after a security alert; support must reinstate it`,
          );
        case 'BAD_REQUEST':
          // The box refused the stored record's shape (a column edited to a value no record can
          // hold): tampering or corruption, never a caller's mistake.
          if (/^record[.:]/.test(error.message)) {
            await this.ctx.alert(
              record.serial,
              'METER_RECORD_MALFORMED',
              `meter record is malformed: altered in the database (${error.message})`,
            );
            throw new ApiError(
              'METER_INTEGRITY',
              `meter ${record.serial}: the stored meter record failed its security check; nothing was charged`,
            );
          }
          throw error;
        case 'BOX_UNAVAILABLE':
          // A meter shard or box that died is restarted (supervision, or the pool): retryable.
          throw new ApiError(
            'SERVICE_UNAVAILABLE',
            `meter ${record.serial}: its meter box is not answering (restarting); send the same request again in a moment: it is answered once`,
          );
        case 'TAMPERED':
        case 'SELF_TEST_FAILED':
          throw new ApiError('SERVICE_UNAVAILABLE', `meter box: ${error.code}`);
        case 'WITNESS_UNAVAILABLE':
        case 'WITNESS_MISMATCH':
          // A box just (re)started waits for its start receipt: one round with the post, then
          // the caller runs the command again.
          if (await this.ctx.options.witness?.settle(5000)) return 'recovered';
          throw new ApiError(
            'SERVICE_UNAVAILABLE',
            `postage: waiting for the postal authority's receipt for earlier postage; nothing was charged; try again in a minute (${error.message})`,
          );
        case 'WITNESS_ROLLBACK':
          throw new ApiError(
            'METER_INTEGRITY',
            `postage: refused: the data center runs from a restored copy, older than what the postal authority holds; nothing was charged (${error.message})`,
          );
        default:
          throw error;
      }
    }
  }

  /**
   * Stores the meter box's journaled last command of a meter if the database never got it (the
   * data center stopped between the box's answer and the COMMIT) — with its postal report, which
   * the postal authority waits for. True if something was stored.
   */
  async settleMeter(serial: string): Promise<boolean> {
    return this.ctx.withMeter(serial, async () => {
      const stored = await this.ctx.storage.getMeterRecord(serial);
      if (!stored) return false;
      const journal = await this.ctx.boxes.meter.recover({ serial });
      if (!journal || journal.record.counter !== stored.counter + 1) return false;
      await this.storeRecovered(stored, journal);
      return true;
    });
  }

  /** A fresh MAC for a record whose key period is ageing (dormant meter); stores the answer. */
  private async remac(record: MeterRecord): Promise<void> {
    const { record: next } = await this.ctx.boxes.meter.remac({ record });
    await this.ctx.storage.commitRecovered({
      kind: 'remac',
      record: next,
      expectedCounter: record.counter,
    });
    this.ctx.log('remac', { meter: record.serial, from: record.macPeriod, to: next.macPeriod });
  }

  /**
   * Lifts the meter box's suspension of a meter (administrator, `vpm datacenter reinstate`) and
   * records who-knows-why in the alerts table. Answers the suspension lifted, or null if none.
   */
  async reinstate(serial: string, reason: string): Promise<MeterSuspension | null> {
    let lifted: MeterSuspension | null;
    try {
      ({ lifted } = await this.ctx.boxes.meter.reinstate({ serial, reason }));
    } catch (error) {
      if (error instanceof BoxError && error.code === 'UNKNOWN_METER')
        throw new ApiError('NOT_FOUND', `meter ${serial}: the meter box does not know it`);
      throw error;
    }
    if (lifted)
      await this.ctx.alert(
        serial,
        'REINSTATED',
        `reinstated by an administrator: ${reason} (suspended ${lifted.at} for ${lifted.code})`,
      );
    return lifted;
  }

  private async storeRecovered(stored: MeterRecord, journal: JournalEntry): Promise<void> {
    const mailerId = stored.accountId;
    switch (journal.kind) {
      case 'remac':
        await this.ctx.storage.commitRecovered({
          kind: 'remac',
          record: journal.record,
          expectedCounter: stored.counter,
        });
        break;
      case 'dispense': {
        const mailer = await this.ctx.storage.getMailer(mailerId);
        const pieces = await withAllocatedTrackingNumbers(
          this.ctx.storage,
          piecesFrom(
            journal.record,
            mailerId,
            mailer?.originZip ?? '00000',
            journal.indicia,
            new Map(),
          ),
          this.ctx.options.uspsMailerId ?? DEFAULT_MAILER_ID,
        );
        await this.ctx.storage.commitRecovered({
          kind: 'dispense',
          record: journal.record,
          expectedCounter: stored.counter,
          pieces,
          ...(journal.report ? { report: outboxReport(journal.report) } : {}),
        });
        if (journal.report) this.ctx.options.witness?.kick();
        break;
      }
      case 'credit': {
        const createdAt = new Date().toISOString();
        const { credit, amountCents } = journal;
        const reference = creditReference(credit);
        const body = {
          reference,
          amountCents,
          meter: stored.serial,
          recovered: true,
          at: createdAt,
        };
        const { signature } = await this.ctx.boxes.txn.sign({ kind: credit.kind, body });
        const receipt = canonicalJson(body);
        const base = { record: journal.record, expectedCounter: stored.counter };
        await this.ctx.storage.commitRecovered(
          credit.kind === 'refund'
            ? {
                ...base,
                kind: 'refund',
                refund: { pieceId: credit.pieceId, amountCents, createdAt, receipt, signature },
              }
            : {
                ...base,
                kind: 'refill',
                refill: {
                  id: credit.refillId,
                  mailerId,
                  amountCents,
                  cardLast4: '----',
                  createdAt,
                  receipt,
                  signature,
                },
              },
        );
        break;
      }
      default:
        journal satisfies never;
    }
    this.ctx.log('recovered', {
      meter: stored.serial,
      counter: journal.record.counter,
      kind: journal.kind,
    });
  }
}
