/**
 * @module function/api-error
 * The one error type the flows throw; the communication server turns it into
 * `{ "error": { "code", "message" } }` with the status from shared/api/errors.ts.
 */
import { API_ERRORS, type ApiErrorCode } from '../../shared/api/errors';

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    /** For 429: how long the caller must wait (sent as Retry-After). */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = API_ERRORS[code].status;
  }
}
