/**
 * @module print/bridge-printer
 * Printing through Chromium, the desktop app's print path on Windows (no CUPS there) and an
 * option on macOS and Linux: the Electron main process prints the HTML document of a job
 * (./html.ts) in a hidden window with webContents.print — silent to the chosen printer, the
 * medium's size in microns, no margins, scale 100 % — and lists printers with
 * webContents.getPrintersAsync(). That code lives in electron/html-print.ts; here is only the
 * typed bridge it implements and the PrinterDriver over it, so client code stays free of
 * `electron` imports.
 */
import { PrintError } from './errors';
import type { JobStatus, PrintJob, PrintJobRequest, PrinterDriver, PrinterInfo } from './printers';

/** One job for Chromium's printing: an HTML document at the medium's size. */
export interface HtmlPrintRequest {
  /** The printer's system name; empty to let the mailer choose in the system's print dialog. */
  deviceName: string;
  /** A whole HTML document made by the renderer (./html.ts). */
  htmlPath: string;
  /** The sheet in portrait terms (short side first), in microns, as webContents.print wants it. */
  pageSize: { width: number; height: number };
  /** True for envelopes, fed short edge first and printed across. */
  landscape: boolean;
  copies: number;
}

/** What electron/ provides (electron/html-print.ts). */
export interface ElectronPrintBridge {
  getPrinters(): Promise<Array<{ name: string; isDefault: boolean; status: number }>>;
  printHtml(request: HtmlPrintRequest): Promise<{ ok: true } | { ok: false; reason: string }>;
}

const MICRONS_PER_POINT = 25_400 / 72;

/** PrinterDriver over Electron's printing; Electron reports no job ids, so ours are local. */
export class BridgePrinterDriver implements PrinterDriver {
  /** Jobs are HTML documents (printPieces renders them so). */
  readonly format = 'html';
  private readonly jobs = new Map<string, JobStatus>();
  private next = 1;

  constructor(private readonly bridge: ElectronPrintBridge) {}

  async listPrinters(): Promise<PrinterInfo[]> {
    const printers = await this.bridge.getPrinters();
    return printers.map((p) => ({
      name: p.name,
      isDefault: p.isDefault,
      state: 'unknown',
      accepting: true,
      media: [],
    }));
  }

  async submit(request: PrintJobRequest): Promise<PrintJob> {
    const known = await this.bridge.getPrinters();
    if (!known.some((p) => p.name === request.printer)) {
      throw new PrintError(
        'PRINT_PRINTER_NOT_FOUND',
        `printer "${request.printer}": not installed; add it in your system's printer settings (Windows: Settings › Printers & scanners)`,
      );
    }
    // Electron wants the sheet in portrait terms plus a landscape flag.
    const short = Math.min(request.medium.width, request.medium.height) * MICRONS_PER_POINT;
    const long = Math.max(request.medium.width, request.medium.height) * MICRONS_PER_POINT;
    const result = await this.bridge.printHtml({
      deviceName: request.printer,
      htmlPath: request.file,
      pageSize: { width: Math.round(short), height: Math.round(long) },
      landscape: request.medium.orientation === 'landscape',
      copies: request.copies ?? 1,
    });
    if (!result.ok) {
      throw new PrintError(
        'PRINT_JOB_REFUSED',
        `printer "${request.printer}": the system refused the job (${result.reason}); check the printer and print again`,
      );
    }
    const id = `${request.printer}-${this.next++}`;
    this.jobs.set(id, { id, state: 'completed', message: "handed to the system's print spooler" });
    return { id, printer: request.printer };
  }

  async jobStatus(jobId: string): Promise<JobStatus> {
    const status = this.jobs.get(jobId);
    if (!status) throw new PrintError('PRINT_JOB_NOT_FOUND', `job "${jobId}": unknown`);
    return status;
  }
}
