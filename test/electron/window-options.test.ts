import { describe, expect, it, vi } from 'vitest';
import {
  denyPermissions,
  guardContents,
  mainWindowOptions,
  type GuardedContents,
  type GuardedSession,
} from '../../electron/window-options';

describe('mainWindowOptions()', () => {
  const prefs = mainWindowOptions('/app/.vite/build/preload.js', true).webPreferences ?? {};

  it('isolates and sandboxes the renderer, without Node', () => {
    expect(prefs.contextIsolation).toBe(true);
    expect(prefs.sandbox).toBe(true);
    expect(prefs.nodeIntegration).toBe(false);
    expect(prefs.nodeIntegrationInWorker).toBe(false);
    expect(prefs.nodeIntegrationInSubFrames).toBe(false);
  });

  it('keeps web security on and webviews off', () => {
    expect(prefs.webSecurity).toBe(true);
    expect(prefs.allowRunningInsecureContent).toBe(false);
    expect(prefs.webviewTag).toBe(false);
    expect(prefs.experimentalFeatures).toBe(false);
    expect(prefs.navigateOnDragDrop).toBe(false);
  });

  it('turns developer tools off in a packaged (installed) app, on only in development', () => {
    expect(prefs.devTools).toBe(false);
    const dev = mainWindowOptions('/app/.vite/build/preload.js', false).webPreferences ?? {};
    expect(dev.devTools).toBe(true);
  });

  it('loads the given preload script', () => {
    expect(prefs.preload).toBe('/app/.vite/build/preload.js');
  });
});

function fakeContents() {
  const listeners = new Map<string, (event: { preventDefault(): void }, url: string) => void>();
  let openHandler: ((details: { url: string }) => { action: 'deny' }) | undefined;
  const contents: GuardedContents = {
    on(event: string, listener: (event: { preventDefault(): void }, url: string) => void) {
      listeners.set(event, listener);
    },
    setWindowOpenHandler(handler) {
      openHandler = handler;
    },
  } as GuardedContents;
  return { contents, listeners, open: (url: string) => openHandler?.({ url }) };
}

describe('guardContents()', () => {
  it('prevents every navigation, even to the app itself', () => {
    const { contents, listeners } = fakeContents();
    guardContents(contents, () => undefined);
    for (const url of ['https://evil.com/', 'app://vpm/index.html', 'file:///etc/passwd']) {
      const preventDefault = vi.fn();
      listeners.get('will-navigate')?.({ preventDefault }, url);
      expect(preventDefault).toHaveBeenCalledOnce();
    }
  });

  it('denies new windows', () => {
    const { contents, open } = fakeContents();
    guardContents(contents, () => undefined);
    expect(open('https://evil.com/')).toEqual({ action: 'deny' });
    expect(open('app://vpm/index.html')).toEqual({ action: 'deny' });
  });

  it('refuses to attach webviews', () => {
    const { contents, listeners } = fakeContents();
    guardContents(contents, () => undefined);
    const preventDefault = vi.fn();
    listeners.get('will-attach-webview')?.({ preventDefault }, '');
    expect(preventDefault).toHaveBeenCalledOnce();
  });
});

describe('denyPermissions()', () => {
  it('denies every permission request and check', () => {
    let request: Parameters<GuardedSession['setPermissionRequestHandler']>[0] | undefined;
    let check: ((...args: unknown[]) => boolean) | undefined;
    denyPermissions(
      {
        setPermissionRequestHandler: (h) => (request = h),
        setPermissionCheckHandler: (h) => (check = h),
      },
      () => undefined,
    );
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'hid']) {
      const callback = vi.fn();
      request?.({}, permission, callback);
      expect(callback).toHaveBeenCalledWith(false);
    }
    expect(check?.({}, 'media', 'app://vpm')).toBe(false);
  });
});
