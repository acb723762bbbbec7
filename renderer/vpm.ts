/**
 * @module renderer/vpm
 * The renderer's only way out: `window.vpm` (see shared/ipc/channels.ts), wrapped so every call returns
 * an IpcResult (a failing bridge becomes an error result too), an error's message carries the
 * advice of its code (shared/errors.ts, the same the CLI prints), and an expired session sends
 * the app back to sign-on.
 */
import type {
  IpcChannel,
  IpcError,
  IpcRequest,
  IpcResult,
  IpcValue,
  VpmWindowApi,
} from '../shared/ipc';
import { withAdviceOf } from '../shared/ipc';

declare global {
  interface Window {
    readonly vpm: VpmWindowApi;
  }
}

let signedOutListener: (() => void) | null = null;

/** The app registers what to do when a call reports NOT_SIGNED_IN. */
export function onSignedOut(listener: (() => void) | null): void {
  signedOutListener = listener;
}

/** Calls one channel. Never throws. */
export async function call<C extends IpcChannel>(
  channel: C,
  request: IpcRequest<C>,
): Promise<IpcResult<IpcValue<C>>> {
  let result: IpcResult<IpcValue<C>>;
  try {
    const fn = window.vpm[channel] as (r: IpcRequest<C>) => Promise<IpcResult<IpcValue<C>>>;
    result = await fn(request);
  } catch {
    result = {
      ok: false,
      error: {
        code: 'INTERNAL',
        message: 'The window lost contact with the app. Restart the app and try again.',
      },
    };
  }
  if (result.ok) return result;
  if (result.error.code === 'NOT_SIGNED_IN' && channel !== 'auth:signIn') signedOutListener?.();
  return { ok: false, error: withAdviceOf(result.error) };
}

/** The form field an error concerns: the last segment of its JSON pointer ("/recipient/zip" → "zip"). */
export function fieldOf(error: IpcError): string | null {
  if (error.field === undefined) return null;
  const last = error.field.split('/').filter(Boolean).pop();
  return last ?? null;
}

/** Splits an error into a field error (if it names a field the form has) or a form error. */
export function placeError(
  error: IpcError,
  fields: readonly string[],
): { fieldErrors: Record<string, string>; formError: string | null } {
  const field = fieldOf(error);
  if (field !== null && fields.includes(field)) {
    return { fieldErrors: { [field]: error.message }, formError: null };
  }
  return { fieldErrors: {}, formError: error.message };
}

/** A random id for idempotency keys and batch ids. */
export function newKey(): string {
  return crypto.randomUUID();
}
