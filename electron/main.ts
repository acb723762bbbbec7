/**
 * @module main
 * The Electron main process, kept thin: single instance, app menu, settings in userData, one
 * hardened window, the app: protocol for the built renderer, and every renderer request routed
 * through ipc-router.ts to the client services (which talk to the data center, patent Fig. 1).
 * In demo mode the client services start the embedded data center and the demo account.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { app, BrowserWindow, ipcMain, Menu, protocol, session } from 'electron';
import { startDemoBackend } from '../app/demo-backend';
import { createClientServices } from '../client/services';
import { configureLaunch } from '../runtime/launch';
import { BridgePrinterDriver } from '../client/print/bridge-printer';
import {
  choosePrintPath,
  htmlPrintBridge,
  PRINT_PARTITION,
  printWindowOptions,
} from './html-print';
import type { ClientRuntime, CreateClientServices } from '../client/services/contract';
import { contentTypeFor, resolveAppFile } from './app-protocol';
import { CONTENT_SECURITY_POLICY } from './csp';
import { createIpcRouter, senderCheck, type Log } from './ipc-router';
import { menuTemplate } from './menu';
import { createJsonSettingsStore } from './settings-store';
import { APP_ORIGIN, APP_SCHEME, createUrlTrust } from './trusted-url';
import { cliArguments } from './cli-mode';
import { builtEntriesDir } from './launch-paths';
import { forkUtility } from './utility-launch';
import { denyPermissions, guardContents, mainWindowOptions } from './window-options';

// Defined by @electron-forge/plugin-vite at build time.
declare const MAIN_WINDOW_VITE_DEV_SERVER_URL: string | undefined;
declare const MAIN_WINDOW_VITE_NAME: string;

const create: typeof createClientServices = createClientServices;
void (createClientServices satisfies CreateClientServices);

const log: Log = (level, message) => {
  const line = `[vpm ${level}] ${message}`;
  if (level === 'error') console.error(line);
  else console.log(line);
};

const devServerUrl =
  typeof MAIN_WINDOW_VITE_DEV_SERVER_URL === 'string' ? MAIN_WINDOW_VITE_DEV_SERVER_URL : undefined;
const appOrigin = devServerUrl === undefined ? APP_ORIGIN : new URL(devServerUrl).origin;
const isTrustedUrl = createUrlTrust(appOrigin);
const ownContents = new Set<number>();
let mainWindow: BrowserWindow | null = null;
let runtime: ClientRuntime | null = null;

app.enableSandbox();
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

/** Serves the built renderer (…/.vite/renderer/main_window) under app://vpm/. */
function registerAppProtocol(): void {
  const root = path.join(app.getAppPath(), '.vite', 'renderer', MAIN_WINDOW_VITE_NAME);
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(request.url, root);
    if (file === null) return new Response('Not found', { status: 404 });
    try {
      const body = await readFile(file);
      return new Response(body, {
        headers: {
          'content-type': contentTypeFor(file),
          'content-security-policy': CONTENT_SECURITY_POLICY,
          'x-content-type-options': 'nosniff',
        },
      });
    } catch {
      return new Response('Not found', { status: 404 });
    }
  });
}

function createMainWindow(): BrowserWindow {
  const preload = path.join(app.getAppPath(), '.vite', 'build', 'preload.js');
  const win = new BrowserWindow(mainWindowOptions(preload, app.isPackaged));
  const id = win.webContents.id;
  ownContents.add(id);
  win.on('closed', () => {
    ownContents.delete(id);
    if (mainWindow === win) mainWindow = null;
  });
  win.once('ready-to-show', () => win.show());
  void win.loadURL(devServerUrl ?? `${APP_ORIGIN}/index.html`);
  return win;
}

/**
 * The embedded data center's boxes and ceremony run as utility processes (the RunAsNode fuse is
 * off), started from the built files that the package keeps unpacked (launch-paths.ts).
 */
function useUtilityProcesses(): void {
  configureLaunch({ fork: forkUtility, builtDir: builtEntriesDir(app.getAppPath()) });
}

async function start(): Promise<void> {
  app.on('web-contents-created', (_event, contents) =>
    guardContents(contents, (message) => log('warn', `window: ${message}`)),
  );
  denyPermissions(session.defaultSession, (message) => log('warn', `session: ${message}`));
  denyPermissions(session.fromPartition(PRINT_PARTITION), (message) =>
    log('warn', `print session: ${message}`),
  );
  Menu.setApplicationMenu(
    Menu.buildFromTemplate(
      menuTemplate({
        isMac: process.platform === 'darwin',
        appName: app.getName(),
        dev: devServerUrl !== undefined,
      }),
    ),
  );
  if (devServerUrl === undefined) registerAppProtocol();

  const userData = app.getPath('userData');
  const settings = createJsonSettingsStore(path.join(userData, 'settings.json'), log);
  // Chromium prints the HTML documents on Windows (no CUPS), and on request on macOS and Linux.
  const printerDriver =
    choosePrintPath(process.platform, process.env, process.argv) === 'chromium'
      ? new BridgePrinterDriver(
          htmlPrintBridge({
            createWindow: (options) => new BrowserWindow(options),
            getPrinters: async () => {
              if (mainWindow) return mainWindow.webContents.getPrintersAsync();
              const hidden = new BrowserWindow(printWindowOptions());
              try {
                return await hidden.webContents.getPrintersAsync();
              } finally {
                hidden.destroy();
              }
            },
          }),
        )
      : undefined;
  useUtilityProcesses();
  runtime = await create(
    { dataDir: userData, settings, appVersion: app.getVersion(), log, startDemoBackend },
    printerDriver ? { printerDriver } : {},
  );
  if ((await settings.load()).demoMode) {
    // A failure here is not fatal: the window opens and the user sees the error on sign-on.
    await runtime.startDemo().then(
      ({ serverUrl }) => log('info', `demo data center running at ${serverUrl}`),
      (error: unknown) => log('error', `demo: could not start: ${String(error)}`),
    );
  }

  createIpcRouter({
    ipcMain,
    isTrustedSender: senderCheck((id) => ownContents.has(id), isTrustedUrl),
    log,
  }).handleAll(runtime.services);

  mainWindow = createMainWindow();
  app.on('activate', () => {
    if (mainWindow === null) mainWindow = createMainWindow();
  });
}

const cliArgv = cliArguments(process.argv);
if (cliArgv) {
  // `vpm …` from the deb or rpm package: one command, no window, the command's exit code.
  app
    .whenReady()
    .then(async () => {
      useUtilityProcesses();
      const { runVpm } = await import('../app/cli/index');
      app.exit(await runVpm(cliArgv));
    })
    .catch((error: unknown) => {
      log('error', `vpm: ${String(error)}`);
      app.exit(1);
    });
} else if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow === null) return;
    if (mainWindow.isMinimized()) mainWindow.restore();
    mainWindow.focus();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  let closing = false;
  app.on('before-quit', (event) => {
    if (closing || runtime === null) return;
    closing = true;
    event.preventDefault();
    void runtime.close().finally(() => app.quit());
  });
  app
    .whenReady()
    .then(start)
    .catch((error: unknown) => {
      log('error', `startup: ${String(error)}`);
      app.exit(1);
    });
}
