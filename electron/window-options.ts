/**
 * @module window-options
 * The one window factory's options and guards, as plain data and functions so they are tested
 * in Node: an isolated, sandboxed renderer without Node, no webviews, no navigation away from
 * the app, no new windows, and every permission request denied.
 */
import type { BrowserWindowConstructorOptions } from 'electron';

/**
 * Options of the app's only window. `preload` is the built preload script's absolute path;
 * `packaged` is `app.isPackaged`: an installed app has no developer tools (a shortcut there
 * would let anyone at the desk drive the mailer's session from a console).
 */
export function mainWindowOptions(
  preload: string,
  packaged: boolean,
): BrowserWindowConstructorOptions {
  return {
    width: 1180,
    height: 820,
    minWidth: 860,
    minHeight: 600,
    show: false,
    title: 'Virtual Postage Meter',
    backgroundColor: '#f5f7fa',
    autoHideMenuBar: false,
    webPreferences: {
      preload,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      spellcheck: false,
      devTools: !packaged,
    },
  };
}

/** The part of a WebContents the guards need (injected so tests need no Electron). */
export interface GuardedContents {
  on(
    event: 'will-navigate',
    listener: (event: { preventDefault(): void }, url: string) => void,
  ): void;
  on(
    event: 'will-attach-webview',
    listener: (event: { preventDefault(): void }, ...args: unknown[]) => void,
  ): void;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

/** The part of a Session the guards need. */
export interface GuardedSession {
  setPermissionRequestHandler(
    handler: (contents: unknown, permission: string, callback: (granted: boolean) => void) => void,
  ): void;
  setPermissionCheckHandler(handler: (...args: unknown[]) => boolean): void;
}

/**
 * Denies every navigation (the app is a single page: a click on a link must not replace it),
 * every new window and every webview; `log` hears about each attempt.
 */
export function guardContents(contents: GuardedContents, log: (message: string) => void): void {
  contents.on('will-navigate', (event, url) => {
    event.preventDefault();
    log(`navigation to ${JSON.stringify(url)} denied`);
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    log('webview denied');
  });
  contents.setWindowOpenHandler(({ url }) => {
    log(`new window for ${JSON.stringify(url)} denied`);
    return { action: 'deny' };
  });
}

/** Denies every permission (camera, notifications, geolocation, …): the app needs none. */
export function denyPermissions(session: GuardedSession, log: (message: string) => void): void {
  session.setPermissionRequestHandler((_contents, permission, callback) => {
    log(`permission "${permission}" denied`);
    callback(false);
  });
  session.setPermissionCheckHandler(() => false);
}
