/**
 * @module vpm-api
 * Builds `window.vpm` for the preload: one method per channel of shared/ipc/channels.ts and the batch
 * progress subscription, nothing else. ipcRenderer is injected, so the shape is tested in Node.
 * The renderer never sees ipcRenderer or an IPC event object.
 */
import type {
  BatchProgress,
  IpcChannel,
  IpcRequest,
  IpcResult,
  IpcValue,
  VpmWindowApi,
} from '../shared/ipc';

/** What the api needs of ipcRenderer. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

export function buildVpmApi(ipc: IpcRendererLike) {
  const call =
    <C extends IpcChannel>(channel: C) =>
    (request: IpcRequest<C>) =>
      ipc.invoke(channel, request) as Promise<IpcResult<IpcValue<C>>>;

  return {
    'auth:signUp': call('auth:signUp'),
    'auth:signIn': call('auth:signIn'),
    'auth:signInRemembered': call('auth:signInRemembered'),
    'auth:signOut': call('auth:signOut'),
    'account:get': call('account:get'),
    'account:refill': call('account:refill'),
    'account:setLowBalance': call('account:setLowBalance'),
    'postage:rates': call('postage:rates'),
    'postage:quote': call('postage:quote'),
    'piece:preview': call('piece:preview'),
    'piece:print': call('piece:print'),
    'batch:validate': call('batch:validate'),
    'batch:run': call('batch:run'),
    'history:list': call('history:list'),
    'history:exportCsv': call('history:exportCsv'),
    'history:reprint': call('history:reprint'),
    'history:refund': call('history:refund'),
    'printers:list': call('printers:list'),
    'scale:read': call('scale:read'),
    'settings:get': call('settings:get'),
    'settings:set': call('settings:set'),
    'rates:compare': call('rates:compare'),
    'address:check': call('address:check'),
    'addressBook:list': call('addressBook:list'),
    'addressBook:save': call('addressBook:save'),
    'addressBook:remove': call('addressBook:remove'),
    'addressBook:import': call('addressBook:import'),
    'app:info': call('app:info'),
    onBatchProgress(listener: (progress: BatchProgress) => void) {
      const relay = (_event: unknown, progress: unknown) => listener(progress as BatchProgress);
      ipc.on('batch:progress', relay);
      return () => {
        ipc.removeListener('batch:progress', relay);
      };
    },
  } satisfies VpmWindowApi;
}
