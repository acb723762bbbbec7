/**
 * @module preload
 * Runs in the sandboxed renderer before the page: exposes `window.vpm` (one method per IPC
 * channel, see shared/ipc/channels.ts) through the context bridge, and nothing else.
 */
import { contextBridge, ipcRenderer } from 'electron';
import type { VpmWindowApi } from '../shared/ipc';
import { buildVpmApi } from './vpm-api';

const api = buildVpmApi(ipcRenderer) satisfies VpmWindowApi;

contextBridge.exposeInMainWorld('vpm', api);
