/**
 * Unit tests of the CUPS driver's command lines and output parsing (client/print/printers.ts)
 * with a recorded runner. The real queue is exercised in cups.test.ts; the Chromium bridge driver
 * in bridge-printer.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  CupsPrinterDriver,
  MEDIA,
  PRINT_ERROR_CODES,
  PrintError,
  parsePageSizes,
  runCommand,
  type CommandRunner,
} from '../../../client/print';

type Reply = { stdout?: string; stderr?: string; code?: number };

function recorder(replies: (file: string, args: string[]) => Reply): {
  run: CommandRunner;
  calls: Array<[string, string[]]>;
} {
  const calls: Array<[string, string[]]> = [];
  const run: CommandRunner = async (file, args) => {
    calls.push([file, args]);
    const r = replies(file, args);
    return { stdout: r.stdout ?? '', stderr: r.stderr ?? '', code: r.code ?? 0 };
  };
  return { run, calls };
}

describe('parsePageSizes()', () => {
  it('reads the choices and the starred default of lpoptions -l', () => {
    const text =
      'PageSize/Page Size: Letter *A4 Env10 EnvDL w288h432\nResolution/Output Resolution: *300dpi\n';
    expect(parsePageSizes(text)).toEqual({
      media: ['Letter', 'A4', 'Env10', 'EnvDL', 'w288h432'],
      defaultMedia: 'A4',
    });
    expect(parsePageSizes('Duplex/2-Sided: *None\n')).toEqual({ media: [] });
  });
});

describe('CupsPrinterDriver', () => {
  it('sends the medium and orientation with lp, without a shell, and returns the job id', async () => {
    const { run, calls } = recorder(() => ({ stdout: 'request id is Zebra-17 (1 file(s))\n' }));
    const driver = new CupsPrinterDriver(run);
    const job = await driver.submit({
      printer: 'Zebra',
      file: '/tmp/a.pdf',
      medium: MEDIA.label4x6,
    });
    expect(job).toEqual({ id: 'Zebra-17', printer: 'Zebra' });
    const [file, args] = calls[0] ?? ['', []];
    expect(file).toBe('lp');
    expect(args).toEqual(
      expect.arrayContaining([
        'media=na_index-4x6_4x6in',
        'orientation-requested=3',
        'print-scaling=none',
      ]),
    );
    expect(args.slice(0, 2)).toEqual(['-d', 'Zebra']);
    expect(args.slice(-2)).toEqual(['--', '/tmp/a.pdf']);
    await driver.submit({ printer: 'Office', file: '/tmp/b.pdf', medium: MEDIA.dl });
    expect(calls[1]?.[1]).toEqual(
      expect.arrayContaining(['media=iso_dl_110x220mm', 'orientation-requested=4']),
    );
  });

  it('refuses queue names that could be options or paths, without running lp', async () => {
    const { run, calls } = recorder(() => ({}));
    const driver = new CupsPrinterDriver(run);
    for (const name of ['-o', 'a b', '../x', '']) {
      await expect(
        driver.submit({ printer: name, file: '/tmp/a.pdf', medium: MEDIA.env10 }),
      ).rejects.toMatchObject({ code: 'PRINT_PRINTER_NOT_FOUND' });
    }
    expect(calls).toEqual([]);
  });

  it('maps what lp says to a missing printer, a refused job, or another refusal', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['lp: Error - The printer or class does not exist.', 'PRINT_PRINTER_NOT_FOUND', /lpstat -e/],
      ['lp: Destination "Q" is not accepting jobs.', 'PRINT_JOB_REFUSED', /cupsaccept Q/],
      ['lp: Unsupported document-format "x".', 'PRINT_JOB_REFUSED', /Unsupported document/],
    ];
    for (const [stderr, code, message] of cases) {
      const driver = new CupsPrinterDriver(recorder(() => ({ stderr, code: 1 })).run);
      await expect(
        driver.submit({ printer: 'Q', file: '/tmp/a.pdf', medium: MEDIA.env10 }),
      ).rejects.toMatchObject({ code, message: expect.stringMatching(message) });
    }
  });

  it('lists queues with state, device, acceptance, default and page sizes', async () => {
    const { run } = recorder((file, args) => {
      const key = `${file} ${args.join(' ')}`;
      const replies: Record<string, Reply> = {
        'lpstat -e': { stdout: 'Office\nZebra\n' },
        'lpstat -p': {
          stdout:
            'printer Office is idle.  enabled since x\nprinter Zebra disabled since x -\n\tPaused\n',
        },
        'lpstat -v': { stdout: 'device for Office: ipp://o/ipp\ndevice for Zebra: usb://Z\n' },
        'lpstat -a': {
          stdout: 'Office accepting requests since x\nZebra not accepting requests\n',
        },
        'lpstat -d': { stdout: 'system default destination: Office\n' },
        'lpoptions -p Office -l': { stdout: 'PageSize/Media Size: *Letter Env10\n' },
        'lpoptions -p Zebra -l': { stderr: 'Unable to get PPD', code: 1 },
      };
      return replies[key] ?? { code: 1 };
    });
    expect(await new CupsPrinterDriver(run).listPrinters()).toEqual([
      {
        name: 'Office',
        isDefault: true,
        state: 'idle',
        accepting: true,
        device: 'ipp://o/ipp',
        media: ['Letter', 'Env10'],
        defaultMedia: 'Letter',
      },
      {
        name: 'Zebra',
        isDefault: false,
        state: 'disabled',
        accepting: false,
        device: 'usb://Z',
        media: [],
      },
    ]);
  });

  it('reports pending jobs with what CUPS says about them', async () => {
    const { run } = recorder((_file, args) =>
      args.includes('not-completed')
        ? { stdout: 'Office-5   me   1024   date\n\tStatus: Waiting for printer\n\tAlerts: x\n' }
        : { stdout: 'printer Office is idle.\n' },
    );
    expect(await new CupsPrinterDriver(run).jobStatus('Office-5')).toEqual({
      id: 'Office-5',
      state: 'pending',
      message: 'Waiting for printer',
    });
    await expect(new CupsPrinterDriver(run).jobStatus('nonsense')).rejects.toMatchObject({
      code: 'PRINT_JOB_NOT_FOUND',
    });
  });

  it('says to install CUPS when its programs are missing', async () => {
    await expect(runCommand('vpm-no-such-program-lp', [])).rejects.toMatchObject({
      code: 'PRINT_SYSTEM_MISSING',
      message: expect.stringMatching(/install the CUPS client tools/),
    });
  });
});

describe('print errors', () => {
  it('documents every code', () => {
    for (const [code, text] of Object.entries(PRINT_ERROR_CODES)) {
      expect(text.length, code).toBeGreaterThan(10);
      expect(new PrintError(code as keyof typeof PRINT_ERROR_CODES, 'x').code).toBe(code);
    }
  });
});
