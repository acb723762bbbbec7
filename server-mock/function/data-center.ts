/**
 * @module function/data-center
 * The function server (patent part 34): the request flows of Fig. 3 over the storage (36) and the
 * secure boxes (38–44), as one front over its flow modules:
 *   sessions.ts       sign-up, sign-on, sessions, settings (authentication box 40)
 *   meter-gateway.ts  every meter box command, with fraud alerts and crash recovery (44)
 *   dispense.ts       postage: box, then one transaction, then the answer
 *   credits.ts        refills and refunds
 *   reports.ts        history, certificates, verification, acceptance scans, alerts
 *   postal-witness.ts the durable outbox to the postal authority
 * For a postage request: load mailer and meter record → authentication box (session grant) →
 * meter box (Fig. 4) → one database transaction storing the new record and the transaction
 * records → answer. Requests for one meter are serialized; other meters run in parallel. An
 * indicium is answered only after the COMMIT that records it returned.
 * Who owns a meter is the meter box's decision: every command that moves money carries the
 * caller's grant from the authentication box and its bearer token, and the box refuses a record
 * whose signed account is another mailer (GRANT_MISMATCH: fraud alert, meter suspended in the
 * box until `reinstate`). The tables here only find the record to show the box.
 */
import type * as Api from '../../shared/api/schemas';
import type { Boxes, MeterSuspension } from '../boxes/api';
import type { PieceRow, Storage } from '../storage/storage';
import type { CardProcessor } from './card-processor';
import { Credits } from './credits';
import { Dispense } from './dispense';
import { FlowContext, type Caller, type DataCenterOptions } from './flow-context';
import { MeterGateway } from './meter-gateway';
import { Reports } from './reports';
import { Sessions } from './sessions';

export { canonicalJson, pieceIdFor, type Caller, type DataCenterOptions } from './flow-context';
export { REMAC_AFTER_PERIODS } from './meter-gateway';

export class DataCenter {
  private readonly ctx: FlowContext;
  private readonly sessions: Sessions;
  private readonly gateway: MeterGateway;
  private readonly credits: Credits;
  private readonly dispenses: Dispense;
  private readonly reports: Reports;

  constructor(
    readonly storage: Storage,
    readonly boxes: Boxes,
    cards: CardProcessor,
    options: DataCenterOptions,
  ) {
    this.ctx = new FlowContext(storage, boxes, cards, options);
    this.sessions = new Sessions(this.ctx);
    this.gateway = new MeterGateway(this.ctx);
    this.credits = new Credits(this.ctx, this.gateway);
    this.dispenses = new Dispense(this.ctx, this.gateway, this.credits);
    this.reports = new Reports(this.ctx);
  }

  // ---- sessions and the account
  signUp(req: Api.SignUpRequest): Promise<Api.Account> {
    return this.sessions.signUp(req);
  }
  signIn(req: Api.SignInRequest, address: string): Promise<Api.SignInResponse> {
    return this.sessions.signIn(req, address);
  }
  authenticate(token: string | undefined): Promise<Caller> {
    return this.sessions.authenticate(token);
  }
  signOut(caller: Caller): Promise<void> {
    return this.sessions.signOut(caller);
  }
  account(caller: Caller): Promise<Api.Account> {
    return this.ctx.account(caller);
  }
  settings(caller: Caller, req: Api.SettingsRequest): Promise<Api.Account> {
    return this.sessions.settings(caller, req);
  }

  // ---- money
  dispense(caller: Caller, req: Api.DispenseRequest): Promise<Api.DispenseResponse> {
    return this.dispenses.dispense(caller, req);
  }
  refill(caller: Caller, req: Api.RefillRequest): Promise<Api.Account> {
    return this.credits.refill(caller, req);
  }
  refund(caller: Caller, req: Api.RefundRequest): Promise<Api.RefundResponse> {
    return this.credits.refund(caller, req);
  }

  // ---- the meter box's recovery and the administrator
  settleMeter(serial: string): Promise<boolean> {
    return this.gateway.settleMeter(serial);
  }
  reinstate(serial: string, reason: string): Promise<MeterSuspension | null> {
    return this.gateway.reinstate(serial, reason);
  }

  // ---- reports
  history(caller: Caller, query: Api.HistoryQuery): Promise<Api.HistoryResponse> {
    return this.reports.history(caller, query);
  }
  historyItem(row: PieceRow): Api.HistoryItem {
    return this.reports.historyItem(row);
  }
  historyCsv(caller: Caller): AsyncIterable<string> {
    return this.reports.historyCsv(caller);
  }
  vendorCa(): Promise<string> {
    return this.reports.vendorCa();
  }
  certificate(serial: string): Promise<string> {
    return this.reports.certificate(serial);
  }
  certificateBundle(query: Api.CertificatesQuery = {}): Promise<Api.CertificateBundle> {
    return this.reports.certificateBundle(query);
  }
  verify(req: Api.VerifyRequest): Promise<Api.VerifyResponse> {
    return this.reports.verify(req);
  }
  scan(scanner: string, req: Api.ScanRequest): Promise<Api.ScanResponse> {
    return this.reports.scan(scanner, req);
  }
  authenticateScanner(token: string | undefined): Promise<string> {
    return this.reports.authenticateScanner(token);
  }
  alerts(): Promise<Api.FraudAlert[]> {
    return this.reports.alerts();
  }
}
