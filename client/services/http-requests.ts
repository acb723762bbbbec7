/**
 * @module services/http-requests
 * How an IPC request (shared/ipc) becomes the data center's HTTP request (shared/api). Both edges
 * build on shared/domain.ts's atoms, so what the app's edge accepts the data center's accepts
 * (test/client/edges.property.test.ts).
 */
import { randomUUID } from 'node:crypto';
import type * as Api from '../../shared/api/schemas';
import { normalizeUsername } from '../../shared/atoms';
import type { IpcRequest } from '../../shared/ipc';
import type { MailClass } from '../../shared/mail-class';

/** A fresh idempotency key (fits IDEMPOTENCY_KEY_PATTERN): `prefix-` and a UUID. */
export function newIdempotencyKey(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

export function signUpRequest(req: IpcRequest<'auth:signUp'>): Api.SignUpRequest {
  const username = normalizeUsername(req.username);
  return {
    username,
    password: req.password,
    name: req.name ?? username,
    originZip: req.originZip,
  };
}

export function signInRequest(req: IpcRequest<'auth:signIn'>): Api.SignInRequest {
  return { username: normalizeUsername(req.username), password: req.password };
}

export function refillRequest(
  req: IpcRequest<'account:refill'>,
  idempotencyKey = newIdempotencyKey('refill'),
): Api.RefillRequest {
  return { amountCents: req.amountCents, cardNumber: req.cardNumber, idempotencyKey };
}

export function settingsRequest(req: IpcRequest<'account:setLowBalance'>): Api.SettingsRequest {
  return { lowBalanceCents: req.thresholdCents, autoRefillCents: req.autoRefillCents };
}

/** One piece of a dispense request (the app's piece:print, the CLI's print, a batch row). */
export function pieceSpec(piece: {
  idempotencyKey: string;
  postageCents: number;
  mailClass: MailClass;
  recipient: { zip: string };
  weightOz?: number;
}): Api.PieceSpec {
  return {
    idempotencyKey: piece.idempotencyKey,
    postageCents: piece.postageCents,
    mailClass: piece.mailClass,
    destinationZip: piece.recipient.zip,
    ...(piece.weightOz === undefined ? {} : { weightOz: piece.weightOz }),
  };
}

/** Pages count from 0 in the app, from 1 at the data center. */
export function historyQuery(req: IpcRequest<'history:list'>): Api.HistoryQuery {
  return { page: req.page + 1, pageSize: req.pageSize, ...(req.query ? { q: req.query } : {}) };
}

export function refundRequest(req: IpcRequest<'history:refund'>): Api.RefundRequest {
  return { pieceId: req.pieceId };
}
