/**
 * @module function/reports
 * What the data center tells about pieces: the mailer's history (paged, CSV), the meter
 * certificates and the vendor CA, anyone's verification of an indicium, the post's acceptance
 * scans (a piece is scanned or refunded, never both), and the fraud alerts.
 */
import { PAYLOAD_LENGTH } from '../../shared/indicium/codec';
import { verifyIndicium, type Verdict } from '../../shared/indicium/verify';
import type * as Api from '../../shared/api/schemas';
import { formatDecimal } from '../../shared/money';
import type { ClaimRow, PieceRow } from '../storage/storage';
import { StorageConflictError } from '../storage/storage';
import { ApiError } from './api-error';
import { sha256, type Caller, type FlowContext } from './flow-context';

export class Reports {
  private vendorCaPem: string | undefined;

  constructor(private readonly ctx: FlowContext) {}

  async history(caller: Caller, query: Api.HistoryQuery): Promise<Api.HistoryResponse> {
    const page = query.page ?? 1;
    const pageSize = query.pageSize ?? 50;
    const { items, total } = await this.ctx.storage.history(
      caller.mailerId,
      page,
      pageSize,
      query.q,
    );
    return { items: items.map((row) => this.historyItem(row)), total, page, pageSize };
  }

  historyItem(row: PieceRow): Api.HistoryItem {
    return {
      pieceId: row.pieceId,
      createdAt: row.createdAt,
      mailingDate: row.mailingDate,
      postageCents: row.postageCents,
      mailClass: row.mailClass as Api.HistoryItem['mailClass'],
      destinationZip: row.destinationZip,
      ascendingCents: row.ascendingCents,
      status: row.status,
      refundable:
        row.status === 'issued' &&
        Date.now() - Date.parse(row.createdAt) <= this.ctx.refundWindowMs,
      indicium: Buffer.from(row.indicium).toString('base64'),
      ...(row.trackingNumber ? { trackingNumber: row.trackingNumber } : {}),
    };
  }

  async *historyCsv(caller: Caller): AsyncIterable<string> {
    yield 'piece_id,created_at,mailing_date,mail_class,destination_zip,postage,ascending_register,status,tracking_number\n';
    for await (const row of this.ctx.storage.allPieces(caller.mailerId)) {
      yield `${row.pieceId},${row.createdAt},${row.mailingDate},${row.mailClass},${row.destinationZip},${formatDecimal(row.postageCents)},${formatDecimal(row.ascendingCents)},${row.status},${row.trackingNumber ?? ''}\n`;
    }
  }

  async vendorCa(): Promise<string> {
    this.vendorCaPem ??= (await this.ctx.boxes.steel.vendorCa()).certificatePem;
    return this.vendorCaPem;
  }

  async certificate(serial: string): Promise<string> {
    const pem = await this.ctx.storage.certificate(serial.toLowerCase());
    if (!pem)
      throw new ApiError('NOT_FOUND', `certificate ${serial}: not issued by this data center`);
    return pem;
  }

  async certificateBundle(query: Api.CertificatesQuery = {}): Promise<Api.CertificateBundle> {
    const limit = query.limit ?? 100;
    const page = await this.ctx.storage.certificatesPage(query.after, limit + 1);
    const serials = Object.keys(page);
    const more = serials.length > limit;
    const certificates = more
      ? Object.fromEntries(serials.slice(0, limit).map((serial) => [serial, page[serial]]))
      : page;
    return {
      vendorCaPem: await this.vendorCa(),
      certificates: certificates as Record<string, string>,
      next: more ? (serials[limit - 1] as string) : null,
    };
  }

  /**
   * The verdict on an indicium from its signature and the transaction records, keyed on the
   * piece: the payload signed (its piece id), never the signature bytes.
   */
  private async judge(
    bytes: Uint8Array,
  ): Promise<{ verdict: Verdict; reason: string; piece?: PieceRow }> {
    const result = await verifyIndicium(bytes, {
      vendorCaPem: await this.vendorCa(),
      find: (serial) => this.ctx.storage.certificate(serial),
    });
    if (result.verdict !== 'valid' && result.verdict !== 'demo-sample') return result;
    const presented = (result.indicium as NonNullable<typeof result.indicium>).payload;
    const piece = await this.ctx.storage.getPiece(result.indicium?.fields.pieceId ?? '');
    const recorded = piece && Buffer.from(piece.indicium.subarray(0, PAYLOAD_LENGTH));
    if (!piece || !recorded?.equals(Buffer.from(presented))) {
      await this.ctx.alert(
        result.indicium?.fields.deviceId ?? null,
        'UNRECORDED_INDICIUM',
        `an indicium with a valid signature is not in the transaction records`,
      );
      return {
        verdict: 'bad-signature',
        reason: 'signed by a meter key but not recorded by the data center',
      };
    }
    return { verdict: result.verdict, reason: result.reason, piece };
  }

  /** What a claim on the piece makes of a valid verdict. */
  private used(
    verdict: Verdict,
    reason: string,
    piece: PieceRow,
    claim: ClaimRow | undefined,
  ): Api.VerifyResponse {
    if (piece.status === 'refunded' || claim?.kind === 'refund')
      return {
        verdict: 'duplicate',
        reason: `piece ${piece.pieceId} was refunded; it is not valid postage`,
        seenBefore: 0,
      };
    if (claim?.kind === 'scan')
      return {
        verdict: verdict === 'valid' ? 'duplicate' : verdict,
        reason:
          verdict === 'valid'
            ? `piece ${piece.pieceId} was accepted by the post office ${claim.seen} time(s) since ${claim.firstAt}: a copy of postage already used`
            : reason,
        seenBefore: claim.seen,
      };
    return { verdict, reason, seenBefore: 0 };
  }

  /** Anyone's check of an indicium: a verdict only; it changes nothing. */
  async verify(req: Api.VerifyRequest): Promise<Api.VerifyResponse> {
    const { verdict, reason, piece } = await this.judge(
      new Uint8Array(Buffer.from(req.indicium, 'base64')),
    );
    if (!piece) return { verdict, reason, seenBefore: 0 };
    return this.used(verdict, reason, piece, await this.ctx.storage.claimOf(piece.pieceId));
  }

  /** The post office's acceptance scan: the verdict, and an unused piece becomes used. */
  async scan(scanner: string, req: Api.ScanRequest): Promise<Api.ScanResponse> {
    const { verdict, reason, piece } = await this.judge(
      new Uint8Array(Buffer.from(req.indicium, 'base64')),
    );
    if (!piece) return { verdict, reason, seenBefore: 0 };
    if (piece.status !== 'issued') return this.used(verdict, reason, piece, undefined);
    let before: ClaimRow | undefined;
    try {
      before = await this.ctx.storage.noteScan(piece.pieceId, scanner, new Date().toISOString());
    } catch (error) {
      if (!(error instanceof StorageConflictError)) throw error;
      return this.used(verdict, reason, { ...piece, status: 'refunded' }, undefined);
    }
    this.ctx.log('scan', { scanner, pieceId: piece.pieceId, seenBefore: before?.seen ?? 0 });
    return this.used(verdict, reason, piece, before);
  }

  /** The scanner a credential belongs to (`vpm datacenter scanner-token`). */
  async authenticateScanner(token: string | undefined): Promise<string> {
    if (!token) throw new ApiError('UNAUTHENTICATED', 'scans: a scanner credential is required');
    const name = await this.ctx.storage.scannerByTokenHash(sha256(token));
    if (!name) throw new ApiError('FORBIDDEN', "scans: this credential is not a scanner's");
    return name;
  }

  async alerts(): Promise<Api.FraudAlert[]> {
    return this.ctx.storage.listAlerts();
  }
}
