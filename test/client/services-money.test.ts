/**
 * Money safety of the desktop app's services (issue 14, client side) against a real data
 * center: every output check runs before the charge (calibration beyond the driver's range, a
 * printer that does not take the medium or is not accepting jobs, an address the font cannot
 * print), and a batch is known by its content, so choosing the same file again after a failure
 * resumes it without paying a row twice, and a list printed in full is printed again only with
 * the "print again" confirmation. The printers are the only stand-in: a PrinterDriver (the
 * seam Windows printing uses) in front of queues this machine does not have.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClientServices } from '../../client/services/index';
import {
  PrintError,
  type PrintJobRequest,
  type PrinterDriver,
  type PrinterInfo,
} from '../../client/print/index';
import { DEFAULT_SETTINGS, type IpcRequest, type Settings } from '../../shared/ipc';
import {
  type ClientRuntime,
  type ClientServices,
  type ServiceContext,
} from '../../client/services/contract';
import { startTestDataCenter, type TestDataCenter } from '../helpers/datacenter';

const context: ServiceContext = { emit: () => undefined };
let dc: TestDataCenter;
let dataDir: string;
let runtime: ClientRuntime;
let s: ClientServices;
const jobs: PrintJobRequest[] = [];
let flakyFailures = 0;

const printer = (name: string, media: string[], accepting = true): PrinterInfo => ({
  name,
  isDefault: false,
  state: 'idle',
  accepting,
  media,
});

/** Queues as CUPS would list them; "Flaky" refuses its next job once told to. */
const driver: PrinterDriver = {
  listPrinters: async () => [
    printer('Zebra', ['w288h432', 'w288h288']),
    printer('Office', ['Letter', 'A4', 'Env10']),
    printer('Stopped', ['Letter'], false),
    printer('Flaky', []),
  ],
  submit: async (request) => {
    if (request.printer === 'Flaky' && flakyFailures > 0) {
      flakyFailures--;
      throw new PrintError('PRINT_JOB_REFUSED', 'printer "Flaky": the printer went away');
    }
    jobs.push(request);
    return { id: `${request.printer}-${jobs.length}`, printer: request.printer };
  },
  jobStatus: async (id) => ({ id, state: 'completed', message: 'done' }),
};

const balance = async () => (await s['account:get']({}, context)).balanceCents;

const piece = (over: Partial<IpcRequest<'piece:print'>> = {}): IpcRequest<'piece:print'> => ({
  recipient: {
    name: 'Ann Lee',
    street: '1 Main St',
    city: 'Springfield',
    state: 'IL',
    zip: '62701',
  },
  postageCents: 78,
  mailClass: 'first-class',
  media: 'env10',
  printer: null,
  idempotencyKey: `money-${crypto.randomUUID()}`,
  ...over,
});

beforeAll(async () => {
  process.env.VPM_KEYCHAIN = 'none';
  dc = await startTestDataCenter();
  dataDir = await mkdtemp(join(tmpdir(), 'vpm-services-money-'));
  // Saved by an earlier version that allowed 25 mm: beyond what the print driver draws.
  let saved: Settings = {
    ...DEFAULT_SETTINGS,
    demoMode: false,
    serverUrl: dc.running.url,
    caPath: join(dc.dir, 'tls', 'ca.pem'),
    calibration: { Office: { xMm: 22.5, yMm: 0 } },
  };
  runtime = await createClientServices(
    {
      dataDir,
      appVersion: 'test',
      settings: { load: async () => saved, save: async (next) => void (saved = next) },
    },
    { printerDriver: driver },
  );
  s = runtime.services;
  await s['auth:signUp'](
    { username: 'appmoney', password: 'correct horse battery', originZip: '10001' },
    context,
  );
  await s['account:refill']({ amountCents: 10_000, cardNumber: '4242424242424242' }, context);
}, 120_000);

afterAll(async () => {
  await runtime?.close();
  await dc?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('piece:print checks the output before the charge', { timeout: 120_000 }, () => {
  it('charges nothing when the calibration, printer, medium or address would stop the print', async () => {
    const before = await balance();
    const refused: Array<[IpcRequest<'piece:print'>, string, RegExp]> = [
      [piece({ printer: 'Office' }), 'PRINTER_FAILED', /calibration: offsets must be .* 20 mm/],
      [piece({ printer: 'Zebra' }), 'PRINTER_FAILED', /does not offer the Envelope #10/],
      [piece({ printer: 'Stopped', media: 'sheet2x4x6' }), 'PRINTER_FAILED', /not accepting/],
      [piece({ printer: 'Nowhere' }), 'PRINTER_FAILED', /no such printer/],
      [
        piece({ recipient: { ...piece().recipient, street: '1 Main St\u202E' } }),
        'BAD_ADDRESS',
        /U\+202E/,
      ],
      [
        piece({ recipient: { ...piece().recipient, name: 'Σωκράτης' } }),
        'BAD_ADDRESS',
        /cannot be printed/,
      ],
      [
        piece({ recipient: { ...piece().recipient, city: '   ' } }),
        'BAD_ADDRESS',
        /city is missing/,
      ],
    ];
    for (const [request, code, message] of refused) {
      await expect(s['piece:print'](request, context), request.printer ?? '').rejects.toMatchObject(
        {
          code,
          message: expect.stringMatching(message),
        },
      );
    }
    expect(await balance()).toBe(before);
    expect(jobs).toEqual([]);

    // The same printer with a medium it offers prints, and is charged once.
    const printed = await s['piece:print'](piece({ printer: 'Zebra', media: 'label4x6' }), context);
    expect(printed.jobId).toBe('Zebra-1');
    expect(printed.balanceCents).toBe(before - 78);
  });
});

describe('batch:run is known by its content', { timeout: 240_000 }, () => {
  const csv = [
    'name,street,city,state,zip,postage,class',
    'Person 1,1 Oak St,Denver,CO,80201,0.78,first-class',
    'Person 2,2 Oak St,Denver,CO,80202,0.78,first-class',
  ].join('\n');

  it('resumes a failed run when the file is chosen again (a new batch id) without paying a row twice', async () => {
    const before = await balance();
    flakyFailures = 1;
    const run = (batchId: string) =>
      s['batch:run']({ csv, media: 'env10', printer: 'Flaky', batchId }, context);
    await expect(run('chosen-first-time')).rejects.toThrow(/went away/);
    expect(await balance()).toBe(before - 2 * 78);
    const resumed = await run('chosen-second-time');
    expect(resumed.pieces).toBe(2);
    expect(resumed.balanceCents).toBe(before - 2 * 78);
  });

  it('refuses the same list again until the mailer confirms "print again"', async () => {
    const paid = await balance();
    const request = { csv, media: 'env10' as const, printer: null, batchId: 'chosen-third-time' };
    await expect(s['batch:run'](request, context)).rejects.toMatchObject({
      code: 'BATCH_ALREADY_PRINTED',
      message: expect.stringMatching(/printed in full/),
    });
    expect(await balance()).toBe(paid);
    const again = await s['batch:run']({ ...request, again: true }, context);
    expect(again.balanceCents).toBe(paid - 2 * 78);
    // The confirmation covers one run: the list is refused again after it.
    await expect(s['batch:run'](request, context)).rejects.toMatchObject({
      code: 'BATCH_ALREADY_PRINTED',
    });
  });

  it('keys the list by the meter too: another account on this computer prints it as its own', async () => {
    await s['auth:signOut']({}, context);
    await s['auth:signUp'](
      { username: 'appmoney2', password: 'correct horse battery', originZip: '10001' },
      context,
    );
    await s['account:refill']({ amountCents: 1_000, cardNumber: '4242424242424242' }, context);
    const printed = await s['batch:run'](
      { csv, media: 'env10', printer: null, batchId: 'second-account' },
      context,
    );
    expect(printed).toMatchObject({ pieces: 2, balanceCents: 1_000 - 2 * 78 });
  });

  it('refuses a row the font cannot print in the check, before any run', async () => {
    const bad = `${csv}\nPerson 3,3 Oak St,Denver\u2067,CO,80203,0.78,first-class`;
    const checked = await s['batch:validate']({ csv: bad }, context);
    expect(checked.errors).toEqual([{ line: 4, message: expect.stringMatching(/U\+2067/) }]);
  });
});
