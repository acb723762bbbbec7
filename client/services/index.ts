/**
 * @module services
 * The client services behind the desktop app's IPC map (shared/ipc): one method per channel,
 * over the same session, postage and print code the `vpm` CLI uses. Electron main calls them
 * through its IPC router; the browser tests bridge them into the page. No `electron` here.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Api from '../../shared/api/schemas';
import { parse as parseCsv } from 'csv-parse/sync';
import { isErrorCode, type ErrorCode } from '../../shared/errors';
import { isMailClass } from '../../shared/mail-class';
import type { Account, BatchRow, Settings } from '../../shared/ipc';
import type { ClientRuntime, ClientServices, CreateClientServices } from './contract';
import { PrintError } from '../print/errors';
import { CupsPrinterDriver, type PrinterDriver } from '../print/printers';
import {
  historyQuery,
  refillRequest,
  refundRequest,
  settingsRequest,
  signInRequest,
  signUpRequest,
} from './http-requests';
import { startDemo, type Demo } from './demo';
import { openKeychain } from './keychain';
import { PostageService } from './postage-service';
import { previewSvg } from './preview';
import { flatView, quote } from './rates';
import { shippingServices } from './shipping-services';
import { SessionManager } from './session';

/** An error the app shows as is: a stable code and a message that says what to do. */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

const CODE_MAP: Partial<Record<string, ErrorCode>> = {
  UNAUTHENTICATED: 'NOT_SIGNED_IN',
  SESSION_EXPIRED: 'NOT_SIGNED_IN',
  NOT_SIGNED_IN: 'NOT_SIGNED_IN',
  UNREACHABLE: 'UNREACHABLE',
  UNTRUSTED_SERVER: 'UNREACHABLE',
  REFUND_NOT_ALLOWED: 'NOT_REFUNDABLE',
};

/** Turns any error from below into a ServiceError with a code the renderer knows. */
function asServiceError(error: unknown): ServiceError {
  if (error instanceof ServiceError) return error;
  if (error instanceof PrintError) return new ServiceError('PRINTER_FAILED', error.message);
  const code = (error as { code?: string }).code;
  const message = error instanceof Error ? error.message : String(error);
  const field = (error as { field?: string }).field;
  // Only the product's own codes (shared/errors.ts) reach the screen; anything else (a Node
  // system error, a bug) is INTERNAL, with its details in the log only.
  const mapped = CODE_MAP[code ?? ''] ?? code;
  if (isErrorCode(mapped) && mapped !== 'INTERNAL') return new ServiceError(mapped, message, field);
  return new ServiceError('INTERNAL', 'Something went wrong; try again. Details are in the log.');
}

function toAccount(a: Api.Account): Account {
  return {
    username: a.username,
    name: a.name || null,
    originZip: a.originZip,
    meterSerial: a.meterSerial,
    balanceCents: a.balanceCents,
    ascendingCents: a.ascendingCents,
    lowBalanceCents: a.lowBalanceCents,
    autoRefillCents: a.autoRefillCents,
    demo: a.demo,
  };
}

/** The rows of a batch CSV at these error lines, as typed (lines as batch-csv.ts numbers them). */
function rawRows(csv: string, errors: ReadonlyArray<{ line: number }>): BatchRow[] {
  const lines = new Set(errors.map((e) => e.line).filter((line) => line >= 2));
  if (lines.size === 0) return [];
  let records: string[][];
  try {
    records = parseCsv(csv, {
      relax_column_count: true,
      skip_empty_lines: true,
      trim: true,
      bom: true,
    }) as string[][];
  } catch {
    return [];
  }
  const columns = (records[0] ?? []).map((h) => h.toLowerCase().replace(/[^a-z0-9_]/g, ''));
  const rows: BatchRow[] = [];
  for (const line of lines) {
    const record = records[line - 1];
    if (!record) continue;
    const get = (name: string) => record[columns.indexOf(name)]?.trim() ?? '';
    const mailClass = get('mail_class') || get('class') || 'first-class';
    rows.push({
      line,
      name: get('name'),
      city: get('city'),
      state: get('state'),
      zip: get('zip'),
      mailClass: isMailClass(mailClass) ? mailClass : null,
      postageCents: null,
    });
  }
  return rows;
}

/**
 * The client services. `printerDriver` replaces CUPS (the desktop app's printing through
 * Chromium, electron/html-print.ts: always on Windows, on request elsewhere).
 */
export const createClientServices = async (
  options: Parameters<CreateClientServices>[0],
  extra: { printerDriver?: PrinterDriver } = {},
): ReturnType<CreateClientServices> => {
  await mkdir(options.dataDir, { recursive: true, mode: 0o700 });
  const keychain = await openKeychain();
  let settings: Settings = await options.settings.load();
  let demo: Demo | undefined;
  const configuredSession = () =>
    new SessionManager(join(options.dataDir, 'client'), keychain, {
      server: settings.serverUrl,
      ...(settings.caPath ? { ca: settings.caPath } : {}),
    });
  let session = configuredSession();
  let postage = new PostageService(session, join(options.dataDir, 'client'), extra.printerDriver);
  const printers: PrinterDriver = extra.printerDriver ?? new CupsPrinterDriver();
  let account: Api.Account | undefined;

  /** Where and how a print goes: the printer or a saved file, PDF or a thermal printer's ZPL. */
  const output = (
    printer: string | null,
    media: Settings['defaultMedia'],
    thermal: { format?: 'pdf' | 'zpl'; dpi?: 203 | 300 } = {},
  ) => ({
    ...(printer ? { printer } : {}),
    media,
    ...(thermal.format === 'zpl' ? { format: 'zpl' as const } : {}),
    ...(thermal.dpi ? { dpi: thermal.dpi } : {}),
    ...(printer && settings.calibration[printer]
      ? { calibration: settings.calibration[printer] }
      : {}),
    // The return address from the settings goes on every envelope and label.
    ...(settings.returnAddress ? { returnAddress: settings.returnAddress } : {}),
    ...(settings.imb ? { imb: true } : {}),
  });

  /** ZPL is written for one resolution: the request must say which (203 or 300 dpi). */
  const thermal = (req: { format?: 'pdf' | 'zpl'; dpi?: 203 | 300 }) => {
    if (req.format === 'zpl' && req.dpi === undefined)
      throw new ServiceError(
        'PRINT_BAD_DPI',
        "ZPL: choose the thermal printer's resolution (203 or 300 dpi); nothing was charged",
        '/dpi',
      );
    return { ...(req.format ? { format: req.format } : {}), ...(req.dpi ? { dpi: req.dpi } : {}) };
  };

  const refreshAccount = async () => {
    account = await session.call((c) => c.account());
    return toAccount(account);
  };

  /** Starts the embedded demo data center and switches the services to its demo mailer. */
  const enterDemo = async (): Promise<Demo> => {
    if (!demo) {
      if (!options.startDemoBackend)
        throw new ServiceError(
          'DEMO_UNAVAILABLE',
          "This program has no embedded demo data center; turn demo mode off and enter your data center's address in Settings.",
        );
      demo = await startDemo(options.startDemoBackend, {
        onStep: (s) => options.log?.('info', s),
      });
      await session.close();
      session = demo.session;
      postage = new PostageService(session, demo.home, extra.printerDriver);
      await refreshAccount();
    }
    return demo;
  };

  const raw: ClientServices = {
    'auth:signUp': async (req) => {
      const created = await session.signUp(signUpRequest(req));
      await session.signIn(created.username, req.password, false);
      return refreshAccount();
    },
    'auth:signIn': async (req) => {
      const { username, password } = signInRequest(req);
      await session.signIn(username, password, req.remember);
      return refreshAccount();
    },
    'auth:signInRemembered': async () => ((await session.renew()) ? refreshAccount() : null),
    'auth:signOut': async () => {
      await session.signOut();
      account = undefined;
      return null;
    },
    'account:get': async () => refreshAccount(),
    'account:refill': async (req) => {
      await session.call((c) => c.refill(refillRequest(req)));
      return refreshAccount();
    },
    'account:setLowBalance': async (req) => {
      await session.call((c) => c.settings(settingsRequest(req)));
      return refreshAccount();
    },
    'postage:rates': async () => flatView((await postage.rateTable()).table),
    'postage:quote': async (req) => {
      const { table } = await postage.rateTable();
      try {
        return { postageCents: quote(req.mailClass, req.weightOz, table) };
      } catch (error) {
        throw new ServiceError('NO_RATE', (error as Error).message, '/weightOz');
      }
    },
    'piece:preview': async (req) => ({
      svg: previewSvg({
        ...req,
        originZip: account?.originZip ?? '00000',
        deviceId: account?.meterSerial ?? 'PREVIEW00000',
        ...(settings.returnAddress ? { returnAddress: settings.returnAddress } : {}),
      }),
    }),
    'piece:print': async (req) => {
      const r = await postage.printOne(
        {
          recipient: req.recipient,
          postageCents: req.postageCents,
          mailClass: req.mailClass,
          idempotencyKey: req.idempotencyKey,
          ...(req.mailingDate ? { mailingDate: req.mailingDate } : {}),
          ...(req.acceptAddress ? { acceptAddress: true } : {}),
          ...(req.weightOz === undefined ? {} : { weightOz: req.weightOz }),
        },
        output(req.printer, req.media, thermal(req)),
      );
      return {
        pieceId: r.piece.pieceId,
        pdfPath: r.pdfPath ?? '',
        jobId: r.jobId,
        balanceCents: r.balanceCents,
        ...(r.piece.trackingNumber ? { trackingNumber: r.piece.trackingNumber } : {}),
      };
    },
    'batch:validate': async (req) => {
      const parsed = await postage.validate(req.csv);
      const good: BatchRow[] = parsed.pieces.map((p) => ({
        line: p.line,
        name: p.recipient.name,
        city: p.recipient.city,
        state: p.recipient.state,
        zip: p.recipient.zip,
        mailClass: p.mailClass,
        postageCents: p.postageCents,
      }));
      // Rows with errors are listed too, as typed, so the table shows each error on its line.
      const items = [...good, ...rawRows(req.csv, parsed.errors)].sort((a, b) => a.line - b.line);
      return {
        rows: parsed.pieces.length + parsed.errors.length,
        errors: parsed.errors,
        totalCents: parsed.totalCents,
        items: items.slice(0, 1000),
      };
    },
    'batch:run': async (req, context) => {
      const r = await postage.runBatch(req.csv, output(req.printer, req.media, thermal(req)), {
        // The list's content keys the resume file: a run after a failure resumes it; a list
        // printed in full before is refused (BATCH_ALREADY_PRINTED) unless the mailer confirmed
        // "print again". The batch id only tags the progress events.
        resume: 'if-interrupted',
        again: req.again ?? false,
        onProgress: (p) => {
          if (p.phase === 'charging')
            context.emit('batch:progress', { batchId: req.batchId, done: p.done, total: p.total });
        },
      });
      return {
        pieces: r.pieces,
        pdfPath: r.pdfPath ?? '',
        jobId: r.jobId,
        balanceCents: r.balanceCents,
      };
    },
    'history:list': async (req) => {
      const h = await session.call((c) => c.history(historyQuery(req)));
      return {
        items: h.items.map((i) => ({
          pieceId: i.pieceId,
          createdAt: i.createdAt,
          postageCents: i.postageCents,
          destinationZip: i.destinationZip,
          mailClass: i.mailClass,
          status: i.status,
          refundable: i.refundable,
          ...(i.trackingNumber ? { trackingNumber: i.trackingNumber } : {}),
        })),
        total: h.total,
      };
    },
    'history:exportCsv': async () => ({ csv: await session.call((c) => c.historyCsv()) }),
    'history:reprint': async (req) => {
      const r = await postage.reprint(req.pieceId, output(req.printer, req.media, thermal(req)));
      return { pdfPath: r.pdfPath ?? '', jobId: r.jobId };
    },
    'history:refund': async (req) => {
      const r = await postage.refund(refundRequest(req).pieceId);
      return { balanceCents: r.balanceCents };
    },
    'scale:read': async () => {
      const { readScale } = await import('./scale');
      const r = readScale();
      return { ounces: r.ounces ?? 0, shown: r.shown };
    },
    'printers:list': async () =>
      (await printers.listPrinters()).map((p) => ({
        name: p.name,
        isDefault: p.isDefault,
        media: p.media,
      })),
    'settings:get': async () => settings,
    'settings:set': async (req) => {
      await options.settings.save(req);
      const serverChanged = req.serverUrl !== settings.serverUrl || req.caPath !== settings.caPath;
      const demoChanged = req.demoMode !== (demo !== undefined);
      settings = req;
      if (demoChanged && req.demoMode) {
        await enterDemo();
      } else if (demoChanged || (serverChanged && !demo)) {
        // Leaving the demo (its data is discarded) or pointing at another data center.
        await session.close();
        await demo?.close();
        demo = undefined;
        account = undefined;
        session = configuredSession();
        postage = new PostageService(session, join(options.dataDir, 'client'), extra.printerDriver);
      }
      return settings;
    },
    ...shippingServices({
      postage: () => postage,
      originZip: async () => (account ?? (await session.call((c) => c.account()))).originZip,
    }),
    'app:info': async () => ({ demo: demo !== undefined, version: options.appVersion }),
  };

  // Every method reports failures as ServiceErrors (a stable code and a message for the user).
  const services = Object.fromEntries(
    Object.entries(raw).map(([channel, method]) => [
      channel,
      async (request: never, context: never) => {
        try {
          return await (method as (r: never, c: never) => Promise<unknown>)(request, context);
        } catch (error) {
          const wrapped = asServiceError(error);
          if (wrapped.code === 'INTERNAL')
            options.log?.(
              'error',
              `${channel}: ${error instanceof Error ? error.stack : String(error)}`,
            );
          throw wrapped;
        }
      },
    ]),
  ) as unknown as ClientServices;

  const runtime: ClientRuntime = {
    services,
    async startDemo() {
      const running = await enterDemo();
      return { serverUrl: running.backend.url, username: running.username };
    },
    async close() {
      await session.close();
      await demo?.close();
      demo = undefined;
    },
  };
  return runtime;
};
