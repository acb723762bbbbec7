/**
 * @module e2e/harness
 * Runs the real renderer in headless Debian Chromium (playwright-core, /usr/bin/chromium) with
 * `window.vpm` bridged to a given `ClientServices` — the same shape the preload exposes, and
 * every call goes through the same `dispatch()` as the Electron main process (schema check of
 * the request, service call, result-schema check, error mapping), so the page sees exactly the
 * IpcResults it would see in the app. Electron itself cannot be launched on the test machines.
 *
 * API
 *   const app = await startApp({ services });          // builds the renderer once per process
 *   app.page                                          // playwright Page at the sign-on screen
 *   await app.screenshot('dashboard')                 // → test-results/screenshots/dashboard.png
 *   app.problems                                      // page errors, console errors, CSP violations
 *   app.calls                                         // [{ channel, ok, code? }] in call order
 *   await app.close()                                 // closes Chromium and the static server
 *   buildRenderer() / serveDirectory(dir)             // the two steps, if needed on their own
 *
 * Options: { services, log?, viewport? = 1280×860, slowMo? }.
 *
 * Stable selectors (labels and roles; all labels are <label for>):
 *   Sign on:    getByLabel('Username' | 'Password' | 'Remember me on this computer'),
 *               button 'Sign in', 'Create an account', 'Data center settings'
 *   Sign up:    'Name or business (optional)', 'Username', 'Password', 'Confirm password',
 *               'Origin ZIP code'; button 'Create account'
 *   Shell:      navigation 'Main' with buttons 'Dashboard', 'New mail piece', 'Batch',
 *               'History', 'Settings' (aria-current="page" on the current one); 'Sign out';
 *               getByLabel('Balance') in the top bar; role note 'Demo banner' when in demo mode
 *   Dashboard:  'Refill amount', 'Card number', button 'Refill'; 'Warn when the balance is
 *               below', 'Refill automatically', 'Automatic refill amount',
 *               button 'Save low-balance settings'
 *   New piece:  'Recipient name', 'Street address', 'Apartment, suite (optional)', 'City',
 *               'State', 'ZIP code', 'Mail class', radios 'Rate for the weight' /
 *               'Amount I enter', 'Weight (ounces)' or 'Postage amount', 'Medium', 'Printer'
 *               (option 'Save PDF only (no printer)', 'Save ZPL only …' with ZPL), 'Output'
 *               ('pdf' | 'zpl'), 'Resolution (dpi)' ('' | '203' | '300'), button 'Print postage',
 *               img 'Preview of the mail piece with a sample indicium'
 *   Batch:      'CSV address list' (file input: setInputFiles), table rows with 'Error: …',
 *               'Medium', 'Printer', button /^Print \d+ pieces?/, progressbar 'Batch progress'
 *   History:    'Search history', 'Reprint medium', 'Reprint printer', button 'Export CSV'
 *               (a download), per row buttons 'Reprint piece <id>', 'Refund piece <id>' then
 *               'Confirm refund of piece <id>'; 'Previous page' / 'Next page'
 *   Settings:   'Demo mode', 'Data center URL', 'Data center CA certificate file (optional)',
 *               'Default printer', 'Default medium', 'Calibrate printer',
 *               'Horizontal offset (mm)', 'Vertical offset (mm)', button 'Save settings'
 *   Labels match as substrings unless { exact: true } (e.g. 'Password' on sign-up).
 *   Messages:   form errors role alert; successes role status; a field's error is its
 *               accessible description (toHaveAccessibleDescription).
 */
import { createReadStream } from 'node:fs';
import { mkdir, mkdtemp, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type Page } from 'playwright-core';
import { build } from 'vite';
import { resolveAppFile, contentTypeFor } from '../../electron/app-protocol';
import { CONTENT_SECURITY_POLICY } from '../../electron/csp';
import { dispatch, type Log } from '../../electron/ipc-router';
import { IPC_CHANNELS, type IpcEvent } from '../../shared/ipc';
import { type ClientServices, type ServiceContext } from '../../client/services/contract';
import { launchChromium } from '../helpers/chromium';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const SCREENSHOT_DIR = path.join(repoRoot, 'test-results', 'screenshots');

let built: Promise<string> | undefined;

/** Builds the renderer with vite.renderer.config.ts into a temp dir (once per process). */
export function buildRenderer(): Promise<string> {
  built ??= (async () => {
    const outDir = await mkdtemp(path.join(tmpdir(), 'vpm-renderer-'));
    await build({
      configFile: path.join(repoRoot, 'vite.renderer.config.ts'),
      root: path.join(repoRoot, 'renderer'),
      logLevel: 'warn',
      build: { outDir, emptyOutDir: true },
    });
    return outDir;
  })();
  return built;
}

/**
 * Serves a built renderer on 127.0.0.1, port 0, with the app's CSP header. Paths map as the
 * packaged app's app:// protocol maps them (electron/app-protocol.ts).
 */
export async function serveDirectory(dir: string): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    const file = resolveAppFile(`app://vpm${request.url ?? '/'}`, dir);
    const fail = () => {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found');
    };
    if (file === null) return fail();
    stat(file).then(
      (s) => {
        if (!s.isFile()) return fail();
        response.writeHead(200, {
          'content-type': contentTypeFor(file),
          'content-security-policy': CONTENT_SECURITY_POLICY,
          'cache-control': 'no-store',
        });
        createReadStream(file).pipe(response);
      },
      () => fail(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, server };
}

export interface StartAppOptions {
  services: ClientServices;
  log?: Log;
  viewport?: { width: number; height: number };
  slowMo?: number;
}

export interface AppHarness {
  page: Page;
  browser: Browser;
  url: string;
  /** Page errors, console errors and CSP violations seen so far. */
  problems: string[];
  /** Every window.vpm call, in order, with its outcome. */
  calls: Array<{ channel: string; ok: boolean; code?: string }>;
  /** Saves a full-page screenshot as test-results/screenshots/<screen>.png; returns the path. */
  screenshot(screen: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * Runs in the page before its scripts: builds window.vpm exactly as the preload does. Kept as
 * plain JavaScript text: a function would be serialized after the TypeScript transform, which
 * may add helpers that do not exist in the page.
 */
function installVpmScript(channels: readonly string[]): string {
  return `(() => {
  const channels = ${JSON.stringify(channels)};
  const listeners = new Set();
  const api = {};
  for (const channel of channels) {
    api[channel] = (request) => window.__vpmInvoke(channel, request);
  }
  api.onBatchProgress = (listener) => {
    listeners.add(listener);
    return () => { listeners.delete(listener); };
  };
  Object.defineProperty(window, '__vpmEmit', {
    value: (event, payload) => {
      if (event === 'batch:progress') for (const l of listeners) l(payload);
    },
  });
  Object.defineProperty(window, 'vpm', { value: Object.freeze(api) });
  document.addEventListener('securitypolicyviolation', (e) => {
    console.error('CSP violation: ' + e.violatedDirective + ' ' + e.blockedURI);
  });
})();`;
}

/** Console noise that is expected: the meta CSP carries frame-ancestors for the packaged app. */
const EXPECTED_CONSOLE = [/'frame-ancestors' is ignored when delivered via a <meta> element/];

/** Builds and serves the renderer, launches Chromium, bridges window.vpm, opens the app. */
export async function startApp(options: StartAppOptions): Promise<AppHarness> {
  const log: Log = options.log ?? (() => undefined);
  const dir = await buildRenderer();
  const { url, server } = await serveDirectory(dir);
  const browser = await launchChromium(
    options.slowMo === undefined ? {} : { slowMo: options.slowMo },
  );
  const context = await browser.newContext({
    viewport: options.viewport ?? { width: 1280, height: 860 },
    acceptDownloads: true,
  });
  const page = await context.newPage();
  const problems: string[] = [];
  const calls: AppHarness['calls'] = [];
  page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
  page.on('console', (message) => {
    const text = message.text();
    if (message.type() === 'error' && !EXPECTED_CONSOLE.some((re) => re.test(text))) {
      problems.push(`console: ${text}`);
    }
  });

  const serviceContext: ServiceContext = {
    emit(event: IpcEvent, payload: unknown) {
      page
        .evaluate(
          ([e, p]) =>
            (globalThis as unknown as { __vpmEmit(e: string, p: unknown): void }).__vpmEmit(e, p),
          [event, payload] as const,
        )
        .catch((error: unknown) =>
          log('warn', `e2e: event ${event} not delivered: ${String(error)}`),
        );
    },
  };
  await page.exposeFunction('__vpmInvoke', async (channel: unknown, request: unknown) => {
    const result = await dispatch(channel, request, options.services, serviceContext, log);
    calls.push({
      channel: String(channel),
      ok: result.ok,
      ...(result.ok ? {} : { code: result.error.code }),
    });
    return result;
  });
  await page.addInitScript({ content: installVpmScript(IPC_CHANNELS) });
  await page.goto(url);

  return {
    page,
    browser,
    url,
    problems,
    calls,
    async screenshot(screen: string) {
      if (!/^[a-z0-9][a-z0-9-]*$/.test(screen))
        throw new Error(`e2e: bad screenshot name "${screen}"`);
      await mkdir(SCREENSHOT_DIR, { recursive: true });
      const file = path.join(SCREENSHOT_DIR, `${screen}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await browser.close().catch(() => undefined);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
