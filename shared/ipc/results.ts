/**
 * @module ipc/results
 * What crosses the desktop app's process border: a value or an error, never a throw.
 */
import { withAdvice } from '../errors';

export interface IpcError {
  /** Stable code, SCREAMING_SNAKE (e.g. INSUFFICIENT_FUNDS, NOT_SIGNED_IN, BAD_REQUEST). */
  code: string;
  /** For the user: what happened and what to do next. Never internals. */
  message: string;
  /** The request field the error concerns, as a JSON pointer ("/recipient/zip"), if any. */
  field?: string;
}

/** A value or an error, never a throw. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: IpcError };

/** Codes the IPC layer itself produces; services add their own (see client/services/contract.ts). */
export const IPC_ERROR_CODES = {
  /** The request did not match the channel's schema. */
  BAD_REQUEST: 'BAD_REQUEST',
  /** The channel does not exist. */
  UNKNOWN_CHANNEL: 'UNKNOWN_CHANNEL',
  /** The message did not come from the app's own window and origin. */
  FORBIDDEN: 'FORBIDDEN',
  /** An unexpected failure; details are in the main process log. */
  INTERNAL: 'INTERNAL',
} as const;

/** Codes the renderer reacts to specially (services should use them where they fit). */
export const SERVICE_ERROR_CODES = {
  /** No session, or it expired: the renderer returns to sign-on. */
  NOT_SIGNED_IN: 'NOT_SIGNED_IN',
  /** The data center cannot be reached. */
  UNREACHABLE: 'UNREACHABLE',
  BAD_CREDENTIALS: 'BAD_CREDENTIALS',
  USERNAME_TAKEN: 'USERNAME_TAKEN',
  INSUFFICIENT_FUNDS: 'INSUFFICIENT_FUNDS',
  NOT_REFUNDABLE: 'NOT_REFUNDABLE',
  PRINTER_FAILED: 'PRINTER_FAILED',
} as const;

/**
 * The error with its code's advice (shared/errors.ts, what the CLI prints too) after the message,
 * as the renderer shows it; the app's own INTERNAL message says what to do already.
 */
export function withAdviceOf(error: IpcError): IpcError {
  if (error.code === 'INTERNAL') return error;
  return { ...error, message: withAdvice(error.message, error.code) };
}
