/**
 * @module api/errors
 * Every error code the data center answers with and its HTTP status. The codes are a part of
 * the product's one closed table (shared/errors.ts), which holds their advice, so the server's
 * answers and what the app and the CLI tell the mailer come from one place.
 */
import { ERROR_CODES, type ErrorCode } from '../errors';

const API_STATUS = {
  BAD_REQUEST: 400,
  BAD_MAILING_DATE: 400,
  BODY_TOO_LARGE: 413,
  NOT_FOUND: 404,
  UNAUTHENTICATED: 401,
  SESSION_EXPIRED: 401,
  BAD_CREDENTIALS: 401,
  HEADERS_TOO_LARGE: 431,
  RATE_LIMITED: 429,
  USERNAME_TAKEN: 409,
  INSUFFICIENT_FUNDS: 402,
  BALANCE_LIMIT: 409,
  CARD_DECLINED: 402,
  IDEMPOTENCY_CONFLICT: 409,
  PIECE_NOT_FOUND: 404,
  REFUND_NOT_ALLOWED: 409,
  METER_SUSPENDED: 423,
  METER_INTEGRITY: 409,
  FORBIDDEN: 403,
  SERVICE_UNAVAILABLE: 503,
  INTERNAL: 500,
} as const satisfies Partial<Record<ErrorCode, number>>;

export type ApiErrorCode = keyof typeof API_STATUS;

/** The API's codes, in a stable order (the error body's enum in the OpenAPI document). */
export const API_ERROR_CODES = Object.keys(API_STATUS) as ApiErrorCode[];

export const API_ERRORS = Object.fromEntries(
  API_ERROR_CODES.map((code) => [
    code,
    { status: API_STATUS[code], advice: ERROR_CODES[code].advice },
  ]),
) as { readonly [C in ApiErrorCode]: { readonly status: number; readonly advice: string } };

export function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(API_STATUS, code);
}
