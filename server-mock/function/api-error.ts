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
  ) {
    super(message);
    this.name = 'ApiError';
    this.status = API_ERRORS[code].status;
  }
}
