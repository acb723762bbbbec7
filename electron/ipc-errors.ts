/**
 * @module ipc-errors
 * Turns whatever a service threw into the `{ code, message }` the renderer may see. Coded
 * service errors keep their code and user-facing message; anything else (a bug, a Node system
 * error whose message names files and sockets) becomes INTERNAL with a generic message, and the
 * details go only to the main process log.
 */
import { IPC_ERROR_CODES, type IpcError } from '../shared/ipc';

const CODE = /^[A-Z][A-Z0-9_]{1,63}$/;
const MAX_MESSAGE = 500;

export const INTERNAL_MESSAGE =
  'Something went wrong inside the app. Try again; if it keeps happening, restart the app.';

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** True for errors raised by Node or its libraries rather than by our services. */
function isSystemError(error: Record<string, unknown>, code: string): boolean {
  return (
    'errno' in error ||
    'syscall' in error ||
    code.startsWith('ERR_') ||
    code.startsWith('UND_ERR') ||
    /^E[A-Z]+$/.test(code)
  );
}

/** Maps a thrown value to an IpcError with no internals. */
export function toIpcError(error: unknown): IpcError {
  if (isRecord(error) && typeof error.code === 'string' && CODE.test(error.code)) {
    const code = error.code;
    if (!isSystemError(error, code) && typeof error.message === 'string' && error.message !== '') {
      const mapped: IpcError = { code, message: error.message.slice(0, MAX_MESSAGE) };
      if (typeof error.field === 'string' && error.field.startsWith('/')) {
        mapped.field = error.field.slice(0, 200);
      }
      return mapped;
    }
  }
  return { code: IPC_ERROR_CODES.INTERNAL, message: INTERNAL_MESSAGE };
}

/** A short description for the log: the error's name, code and message, and its stack. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.stack ?? `${error.name}: ${error.message}`;
  try {
    return JSON.stringify(error);
  } catch {
    return String(error);
  }
}
