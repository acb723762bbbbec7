/**
 * @module electron/windows-print
 * Printing on Windows, where there is no CUPS: the print driver's ElectronPrintBridge
 * (client/print/bridge-printer.ts) over Electron — printers from webContents.getPrintersAsync(),
 * a job by loading the rendered PDF in a hidden, sandboxed window and printing it silently at the
 * medium's exact size with no margins. Not run in CI (no Windows, no display).
 */
import { BrowserWindow } from 'electron';
import { pathToFileURL } from 'node:url';
import type { ElectronPrintBridge } from '../client/print/bridge-printer';

export function windowsPrintBridge(owner: () => BrowserWindow | undefined): ElectronPrintBridge {
  return {
    async getPrinters() {
      const window = owner();
      if (!window) return [];
      const printers = await window.webContents.getPrintersAsync();
      // Electron reports no default flag on every platform; the options carry it where known.
      return printers.map((p) => ({
        name: p.name,
        isDefault:
          (p.options as Record<string, string> | undefined)?.['printer-is-default'] === 'true',
        status: 0,
      }));
    },
    async printPdf(request) {
      const hidden = new BrowserWindow({
        show: false,
        webPreferences: {
          sandbox: true,
          contextIsolation: true,
          nodeIntegration: false,
          plugins: true,
        },
      });
      try {
        await hidden.loadURL(pathToFileURL(request.pdfPath).href);
        return await new Promise((resolve) => {
          hidden.webContents.print(
            {
              silent: true,
              deviceName: request.deviceName,
              pageSize: request.pageSize,
              landscape: request.landscape,
              copies: request.copies,
              margins: { marginType: 'none' },
              printBackground: true,
            },
            (success, reason) => resolve(success ? { ok: true } : { ok: false, reason }),
          );
        });
      } finally {
        hidden.destroy();
      }
    },
  };
}
