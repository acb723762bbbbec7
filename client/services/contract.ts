/**
 * @module services/contract
 * The Node side of the desktop app's IPC contract: the client services behind the channel map
 * (shared/ipc), one async method per channel, and their lifecycle. Electron main and the test
 * harness hold a `ClientRuntime`; the renderer never sees these types.
 */
import type {
  IpcChannel,
  IpcEvent,
  IpcEventPayload,
  IpcRequest,
  IpcValue,
  Settings,
} from '../../shared/ipc';
import type { StartDemoBackend } from './demo';

/** What a service method may use besides its request. */
export interface ServiceContext {
  /** Sends a one-way event to the renderer (e.g. batch:progress). */
  emit<E extends IpcEvent>(event: E, payload: IpcEventPayload<E>): void;
}

/**
 * The client services (Node, client/): one async method per channel, request → value. A method
 * receives a request already validated against the channel's schema. On failure it throws an
 * Error carrying a stable `code` (and optionally `field`, a JSON pointer into the request); its
 * `message` is shown to the user, so it says what happened and what to do, without internals.
 * An error without a `code` is reported to the user as INTERNAL with a generic message.
 */
export type ClientServices = {
  readonly [C in IpcChannel]: (
    request: IpcRequest<C>,
    context: ServiceContext,
  ) => Promise<IpcValue<C>>;
};

/** Where settings live; Electron main passes a JSON file in its userData directory. */
export interface SettingsStore {
  load(): Promise<Settings>;
  save(settings: Settings): Promise<void>;
}

export interface ClientRuntimeOptions {
  /** Directory for the client's own files (session, batch resume files, PDFs, demo data). */
  dataDir: string;
  settings: SettingsStore;
  /** Reported by app:info. */
  appVersion: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
  /**
   * Starts the embedded demo data center (the composition root, app/, hands it in: client/ has
   * no data center code). Without it, demo mode is refused with DEMO_UNAVAILABLE.
   */
  startDemoBackend?: StartDemoBackend;
}

/** The services plus their lifecycle. */
export interface ClientRuntime {
  services: ClientServices;
  /**
   * Starts the embedded data center on loopback and signs in (creating it if needed) the demo
   * account; app:info then reports demo: true and every indicium is a SAMPLE.
   */
  startDemo(): Promise<{ serverUrl: string; username: string }>;
  /** Stops the embedded data center, if any, and releases files. */
  close(): Promise<void>;
}

/** `client/services` exports `createClientServices` of this type. */
export type CreateClientServices = (options: ClientRuntimeOptions) => Promise<ClientRuntime>;
