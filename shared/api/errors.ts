/**
 * @module api/errors
 * Every error code the data center answers with, its HTTP status, and what a mailer should do
 * next. The server's messages and the client's explanations come from this one table.
 */

export const API_ERRORS = {
  BAD_REQUEST: { status: 400, advice: 'Check the values you entered and try again.' },
  BAD_MAILING_DATE: {
    status: 400,
    advice: 'Choose today or a later mailing date within the window the message names.',
  },
  BODY_TOO_LARGE: { status: 413, advice: 'Send fewer pieces per request (at most 500).' },
  NOT_FOUND: { status: 404, advice: 'Check the address of the request.' },
  UNAUTHENTICATED: { status: 401, advice: 'Sign in again (vpm login).' },
  SESSION_EXPIRED: { status: 401, advice: 'Your session ended; sign in again (vpm login).' },
  BAD_CREDENTIALS: { status: 401, advice: 'Check your user name and password.' },
  HEADERS_TOO_LARGE: { status: 431, advice: 'Send smaller request headers.' },
  RATE_LIMITED: {
    status: 429,
    advice: 'Too many requests or failed sign-ons; wait as long as the message says and try again.',
  },
  USERNAME_TAKEN: { status: 409, advice: 'Choose another user name.' },
  INSUFFICIENT_FUNDS: {
    status: 402,
    advice: 'Refill your meter (vpm refill AMOUNT) and try again.',
  },
  BALANCE_LIMIT: {
    status: 409,
    advice: 'A meter holds at most $1,000,000.00; refill a smaller amount.',
  },
  CARD_DECLINED: { status: 402, advice: 'Use another card or call your bank.' },
  IDEMPOTENCY_CONFLICT: {
    status: 409,
    advice: 'This request key was used for a different request; use a new key.',
  },
  PIECE_NOT_FOUND: { status: 404, advice: 'Check the mail piece id (vpm history lists them).' },
  REFUND_NOT_ALLOWED: {
    status: 409,
    advice: 'Only unused pieces within 30 days can be refunded, once.',
  },
  METER_SUSPENDED: {
    status: 423,
    advice: 'Your meter is suspended after a security check; call support.',
  },
  METER_INTEGRITY: {
    status: 409,
    advice: 'The meter record failed a security check and was not used; support has been alerted.',
  },
  FORBIDDEN: { status: 403, advice: 'Only an administrator can do this.' },
  SERVICE_UNAVAILABLE: {
    status: 503,
    advice: 'The data center is busy or restarting; try again in a minute.',
  },
  INTERNAL: { status: 500, advice: 'Try again; if it persists, call support.' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export function isApiErrorCode(code: string): code is ApiErrorCode {
  return Object.hasOwn(API_ERRORS, code);
}
