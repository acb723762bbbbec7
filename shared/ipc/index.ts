/**
 * @module ipc
 * The desktop app's IPC contract, as the renderer, the preload and the Electron main process
 * share it: the objects it carries (./schemas), the channel map (./channels) and the results
 * (./results). The atoms inside come from shared/domain.ts, as the HTTP API's do. The Node-side
 * services behind the channels are typed in client/services/contract.ts.
 */
export * from './schemas';
export * from './channels';
export * from './results';
export * from './shipping';
