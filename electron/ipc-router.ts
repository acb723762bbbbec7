/**
 * @module ipc-router
 * The main process's single door for renderer requests. Every channel is registered through one
 * wrapper, `handle(channel, fn)`, which (1) drops messages that do not come from the app's own
 * window, main frame and origin, (2) validates the payload with the channel's schema from
 * shared/ipc/channels.ts, (3) calls the service, (4) checks the answer against the result schema, and
 * (5) answers an IpcResult; errors never cross as throws. Free of `electron` imports: Electron's
 * ipcMain is injected, so this is tested in Node and reused by the e2e harness.
 */
import { Value } from '@sinclair/typebox/value';
import {
  IPC,
  IPC_CHANNELS,
  IPC_ERROR_CODES,
  isIpcChannel,
  type IpcChannel,
  type IpcEvent,
  type IpcEventPayload,
  type IpcRequest,
  type IpcResult,
  type IpcValue,
} from '../shared/ipc';
import { type ClientServices, type ServiceContext } from '../client/services/contract';
import { describeError, toIpcError } from './ipc-errors';

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

/** What the router needs of an IpcMainInvokeEvent. */
export interface InvokeEventLike {
  sender: {
    id: number;
    send(channel: string, ...args: unknown[]): void;
    isDestroyed?(): boolean;
  };
  /** null when the frame has gone; `parent` is null for a main frame. */
  senderFrame: { url: string; parent: unknown } | null;
}

/** What the router needs of ipcMain. */
export interface IpcMainLike {
  handle(
    channel: string,
    listener: (event: InvokeEventLike, ...args: unknown[]) => Promise<unknown>,
  ): void;
}

export type ServiceFn<C extends IpcChannel> = (
  request: IpcRequest<C>,
  context: ServiceContext,
) => Promise<IpcValue<C>>;

/** Answers one request: schema check, service call, result check, error mapping. */
export async function dispatch(
  channel: unknown,
  payload: unknown,
  services: Partial<ClientServices>,
  context: ServiceContext,
  log: Log,
): Promise<IpcResult<unknown>> {
  if (!isIpcChannel(channel)) {
    log('warn', `ipc: unknown channel ${JSON.stringify(String(channel)).slice(0, 80)}`);
    return {
      ok: false,
      error: { code: IPC_ERROR_CODES.UNKNOWN_CHANNEL, message: 'This action does not exist.' },
    };
  }
  const fn = services[channel] as ServiceFn<typeof channel> | undefined;
  if (fn === undefined) {
    log('error', `ipc: no service for ${channel}`);
    return { ok: false, error: toIpcError(undefined) };
  }
  return callChecked(channel, fn, payload, context, log);
}

async function callChecked<C extends IpcChannel>(
  channel: C,
  fn: ServiceFn<C>,
  payload: unknown,
  context: ServiceContext,
  log: Log,
): Promise<IpcResult<IpcValue<C>>> {
  const { request: requestSchema, result: resultSchema } = IPC[channel];
  if (!Value.Check(requestSchema, payload)) {
    const first = Value.Errors(requestSchema, payload).First();
    const field = first?.path ?? '';
    log('warn', `ipc: ${channel}: bad request at "${field}": ${first?.message ?? '?'}`);
    return {
      ok: false,
      error: {
        code: IPC_ERROR_CODES.BAD_REQUEST,
        message: `The request was refused: ${field === '' ? 'it' : field} is not valid (${first?.message ?? 'bad value'}).`,
        ...(field === '' ? {} : { field }),
      },
    };
  }
  let value: IpcValue<C>;
  try {
    value = await fn(payload as IpcRequest<C>, context);
  } catch (error) {
    const mapped = toIpcError(error);
    log(
      mapped.code === IPC_ERROR_CODES.INTERNAL ? 'error' : 'info',
      `ipc: ${channel} failed: ${describeError(error)}`,
    );
    return { ok: false, error: mapped };
  }
  if (!Value.Check(resultSchema, value)) {
    const first = Value.Errors(resultSchema, value).First();
    log(
      'error',
      `ipc: ${channel}: service answer breaks the contract at "${first?.path}": ${first?.message}`,
    );
    return { ok: false, error: toIpcError(undefined) };
  }
  return { ok: true, value };
}

export interface IpcRouterDeps {
  ipcMain: IpcMainLike;
  /** True only for the app's own window, main frame, at a trusted URL. */
  isTrustedSender(event: InvokeEventLike): boolean;
  log: Log;
}

/** A context whose events go back to the webContents that asked. */
function contextFor(event: InvokeEventLike): ServiceContext {
  return {
    emit<E extends IpcEvent>(name: E, payload: IpcEventPayload<E>) {
      if (event.sender.isDestroyed?.() === true) return;
      event.sender.send(name, payload);
    },
  };
}

/** Creates the router: `handle(channel, fn)` for one channel, `handleAll(services)` for all. */
export function createIpcRouter(deps: IpcRouterDeps) {
  const { ipcMain, isTrustedSender, log } = deps;

  function handle<C extends IpcChannel>(channel: C, fn: ServiceFn<C>): void {
    ipcMain.handle(channel, async (event, payload) => {
      if (!isTrustedSender(event)) {
        log(
          'warn',
          `ipc: ${channel} from untrusted sender ${event.senderFrame?.url ?? '(none)'} dropped`,
        );
        return {
          ok: false,
          error: { code: IPC_ERROR_CODES.FORBIDDEN, message: 'Request refused.' },
        } satisfies IpcResult<never>;
      }
      return callChecked(channel, fn, payload, contextFor(event), log);
    });
  }

  function handleAll(services: ClientServices): void {
    for (const channel of IPC_CHANNELS) {
      const fn = services[channel] as ServiceFn<typeof channel>;
      handle(channel, (request, context) => fn.call(services, request, context));
    }
  }

  return { handle, handleAll };
}

/** Builds `isTrustedSender`: our window's webContents, its main frame, at a trusted URL. */
export function senderCheck(
  isOwnContents: (id: number) => boolean,
  isTrustedUrl: (url: unknown) => boolean,
): (event: InvokeEventLike) => boolean {
  return (event) => {
    const frame = event.senderFrame;
    return (
      frame !== null &&
      frame.parent === null &&
      isOwnContents(event.sender.id) &&
      isTrustedUrl(frame.url)
    );
  };
}
