/**
 * @module electron/html-print
 * The print driver's ElectronPrintBridge (client/print/bridge-printer.ts) over Chromium's
 * printing: the desktop app's print path on Windows, and on macOS and Linux when chosen instead
 * of CUPS. A job's HTML document (client/print/html.ts) is loaded from its file into a hidden,
 * sandboxed window that runs no script and has its own session, and printed with
 * webContents.print: silent to the printer the mailer chose, the medium's size in microns, no
 * margins, scale 100 %, backgrounds on. The document brings its own Content-Security-Policy,
 * which allows exactly its inline style (by hash) and its data: fonts; the app's CSP (csp.ts)
 * does not apply to it. Free of `electron` value imports: the window is made by an injected
 * factory, so the options and the flow are tested in Node.
 */
import type { BrowserWindowConstructorOptions, WebContentsPrintOptions } from 'electron';
import type { ElectronPrintBridge, HtmlPrintRequest } from '../client/print/bridge-printer';

/** The partition of the print window: in memory, apart from the app's session. */
export const PRINT_PARTITION = 'vpm-print';

/** The hidden print window: no script, no Node, sandboxed, its own in-memory session. */
export function printWindowOptions(): BrowserWindowConstructorOptions {
  return {
    show: false,
    width: 800,
    height: 600,
    webPreferences: {
      javascript: false,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      plugins: false,
      spellcheck: false,
      devTools: false,
      partition: PRINT_PARTITION,
      // Printing must not wait for a hidden window's throttled timers.
      backgroundThrottling: false,
    },
  };
}

/**
 * webContents.print's options for one job: silent to the named printer (the system's dialog
 * only when no printer was chosen), the page in microns as the job gives it, no margins, no
 * scaling, backgrounds printed.
 */
export function htmlPrintOptions(request: HtmlPrintRequest): WebContentsPrintOptions {
  const chosen = request.deviceName !== '';
  return {
    silent: chosen,
    ...(chosen ? { deviceName: request.deviceName } : {}),
    pageSize: { width: request.pageSize.width, height: request.pageSize.height },
    landscape: request.landscape,
    margins: { marginType: 'none' },
    scaleFactor: 100,
    pagesPerSheet: 1,
    printBackground: true,
    copies: request.copies,
  };
}

/** What the bridge needs of a BrowserWindow. */
export interface PrintWindowLike {
  loadFile(path: string): Promise<void>;
  webContents: {
    print(
      options: WebContentsPrintOptions,
      callback: (success: boolean, failureReason: string) => void,
    ): void;
  };
  destroy(): void;
}

/** What the bridge needs of Electron's PrinterInfo. */
export interface PrinterLike {
  name: string;
  /** Platform-specific facts (Electron types them as an empty object). */
  options?: object;
}

export interface HtmlPrintDeps {
  /** `new BrowserWindow(options)`. */
  createWindow(options: BrowserWindowConstructorOptions): PrintWindowLike;
  /** A live webContents' getPrintersAsync(). */
  getPrinters(): Promise<PrinterLike[]>;
}

/** The bridge over Electron: printers from getPrintersAsync(), jobs printed in a hidden window. */
export function htmlPrintBridge(deps: HtmlPrintDeps): ElectronPrintBridge {
  return {
    async getPrinters() {
      const printers = await deps.getPrinters();
      // Electron gives no default flag of its own; CUPS and Windows put one in the options.
      return printers.map((p) => {
        const options = (p.options ?? {}) as Record<string, unknown>;
        return {
          name: p.name,
          isDefault: options['printer-is-default'] === 'true' || options.isDefault === 'true',
          status: 0,
        };
      });
    },
    async printHtml(request) {
      const window = deps.createWindow(printWindowOptions());
      try {
        // Resolves once the document has loaded, its data: fonts with it.
        await window.loadFile(request.htmlPath);
        return await new Promise((resolve) => {
          window.webContents.print(htmlPrintOptions(request), (success, reason) =>
            resolve(success ? { ok: true } : { ok: false, reason: reason || 'print failed' }),
          );
        });
      } catch (error) {
        return { ok: false, reason: error instanceof Error ? error.message : String(error) };
      } finally {
        window.destroy();
      }
    },
  };
}

export type PrintPath = 'cups' | 'chromium';

/**
 * How the app prints: through Chromium on Windows (there is no CUPS); on macOS and Linux through
 * CUPS unless `--print-path=chromium` or VPM_PRINT_PATH=chromium asks for Chromium.
 */
export function choosePrintPath(
  platform: string,
  env: Record<string, string | undefined>,
  argv: readonly string[],
): PrintPath {
  if (platform === 'win32') return 'chromium';
  const flag = argv.find((a) => a.startsWith('--print-path='))?.slice('--print-path='.length);
  return (flag ?? env.VPM_PRINT_PATH) === 'chromium' ? 'chromium' : 'cups';
}
