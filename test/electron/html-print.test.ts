import { describe, expect, it } from 'vitest';
import { BridgePrinterDriver, MEDIA } from '../../client/print';
import {
  PRINT_PARTITION,
  choosePrintPath,
  htmlPrintBridge,
  htmlPrintOptions,
  printWindowOptions,
  type PrintWindowLike,
} from '../../electron/html-print';

type BrowserWindowConstructorOptions = ReturnType<typeof printWindowOptions>;
type WebContentsPrintOptions = ReturnType<typeof htmlPrintOptions>;

/** A BrowserWindow stand-in that records what the bridge does with it. */
function fakeWindows(outcome: { load?: Error; print?: [boolean, string] } = {}) {
  const made: Array<{
    options: BrowserWindowConstructorOptions;
    loaded: string[];
    printed: WebContentsPrintOptions[];
    destroyed: boolean;
  }> = [];
  const createWindow = (options: BrowserWindowConstructorOptions): PrintWindowLike => {
    const record = {
      options,
      loaded: [] as string[],
      printed: [] as WebContentsPrintOptions[],
      destroyed: false,
    };
    made.push(record);
    return {
      async loadFile(path) {
        record.loaded.push(path);
        if (outcome.load) throw outcome.load;
      },
      webContents: {
        print(options, callback) {
          record.printed.push(options);
          const [success, reason] = outcome.print ?? [true, ''];
          setImmediate(() => callback(success, reason));
        },
      },
      destroy() {
        record.destroyed = true;
      },
    };
  };
  return { made, createWindow };
}

const printers = async () => [
  { name: 'Office_Laser', options: { 'printer-is-default': 'true' } },
  { name: 'Zebra_ZD420', options: {} },
];

describe('htmlPrintOptions()', () => {
  const request = {
    deviceName: 'Office_Laser',
    htmlPath: '/tmp/postage-1.html',
    pageSize: { width: 104775, height: 241300 },
    landscape: true,
    copies: 2,
  };

  it('prints silently to the chosen printer at the page size in microns, no margins, scale 100', () => {
    expect(htmlPrintOptions(request)).toEqual({
      silent: true,
      deviceName: 'Office_Laser',
      pageSize: { width: 104775, height: 241300 },
      landscape: true,
      margins: { marginType: 'none' },
      scaleFactor: 100,
      pagesPerSheet: 1,
      printBackground: true,
      copies: 2,
    });
  });

  it('asks in the system dialog only when no printer was chosen', () => {
    const options = htmlPrintOptions({ ...request, deviceName: '' });
    expect(options.silent).toBe(false);
    expect(options).not.toHaveProperty('deviceName');
    expect(options).toMatchObject({ margins: { marginType: 'none' }, scaleFactor: 100 });
  });
});

describe('printWindowOptions()', () => {
  it('is hidden, runs no script, has no Node, is sandboxed, in its own session', () => {
    const options = printWindowOptions();
    expect(options.show).toBe(false);
    expect(options.webPreferences).toMatchObject({
      javascript: false,
      sandbox: true,
      contextIsolation: true,
      nodeIntegration: false,
      webSecurity: true,
      webviewTag: false,
      partition: PRINT_PARTITION,
    });
    expect(options.webPreferences).not.toHaveProperty('preload');
    expect(PRINT_PARTITION.startsWith('persist:')).toBe(false);
  });
});

describe('htmlPrintBridge()', () => {
  it('loads the document in a hidden print window, prints it with the job’s options, and closes the window', async () => {
    const { made, createWindow } = fakeWindows();
    const driver = new BridgePrinterDriver(
      htmlPrintBridge({ createWindow, getPrinters: printers }),
    );
    const job = await driver.submit({
      printer: 'Office_Laser',
      file: '/tmp/postage-1.html',
      medium: MEDIA.env10,
    });
    expect(job.printer).toBe('Office_Laser');
    expect(made).toHaveLength(1);
    expect(made[0]?.options).toEqual(printWindowOptions());
    expect(made[0]?.loaded).toEqual(['/tmp/postage-1.html']);
    expect(made[0]?.printed).toEqual([
      {
        silent: true,
        deviceName: 'Office_Laser',
        pageSize: { width: 104775, height: 241300 },
        landscape: true,
        margins: { marginType: 'none' },
        scaleFactor: 100,
        pagesPerSheet: 1,
        printBackground: true,
        copies: 1,
      },
    ]);
    expect(made[0]?.destroyed).toBe(true);
  });

  it('lists the printers with the default one marked', async () => {
    const { createWindow } = fakeWindows();
    const driver = new BridgePrinterDriver(
      htmlPrintBridge({ createWindow, getPrinters: printers }),
    );
    expect((await driver.listPrinters()).map((p) => [p.name, p.isDefault])).toEqual([
      ['Office_Laser', true],
      ['Zebra_ZD420', false],
    ]);
  });

  it('reports a refused job or a document that did not load as a refusal, and closes the window', async () => {
    for (const outcome of [
      { print: [false, 'Print job failed'] as [boolean, string] },
      { load: new Error('ERR_FILE_NOT_FOUND (-6) loading file:///tmp/gone.html') },
    ]) {
      const { made, createWindow } = fakeWindows(outcome);
      const driver = new BridgePrinterDriver(
        htmlPrintBridge({ createWindow, getPrinters: printers }),
      );
      await expect(
        driver.submit({ printer: 'Zebra_ZD420', file: '/tmp/gone.html', medium: MEDIA.label4x6 }),
      ).rejects.toMatchObject({
        code: 'PRINT_JOB_REFUSED',
        message: expect.stringMatching(/Print job failed|ERR_FILE_NOT_FOUND/),
      });
      expect(made[0]?.destroyed).toBe(true);
      expect(made[0]?.printed.length).toBe(outcome.load ? 0 : 1);
    }
  });
});

describe('choosePrintPath()', () => {
  it('prints through Chromium on Windows, and on macOS and Linux only when asked', () => {
    expect(choosePrintPath('win32', {}, [])).toBe('chromium');
    expect(choosePrintPath('win32', { VPM_PRINT_PATH: 'cups' }, [])).toBe('chromium');
    expect(choosePrintPath('linux', {}, [])).toBe('cups');
    expect(choosePrintPath('darwin', { VPM_PRINT_PATH: 'chromium' }, [])).toBe('chromium');
    expect(choosePrintPath('linux', {}, ['electron', '.', '--print-path=chromium'])).toBe(
      'chromium',
    );
    expect(choosePrintPath('linux', { VPM_PRINT_PATH: 'chromium' }, ['--print-path=cups'])).toBe(
      'cups',
    );
    expect(choosePrintPath('linux', { VPM_PRINT_PATH: 'Chromium!' }, [])).toBe('cups');
  });
});
