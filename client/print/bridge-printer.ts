/**
 * @module print/bridge-printer
 * Printing on Windows, where there is no CUPS: the Electron main process prints the rendered
 * PDF (webContents.getPrintersAsync() to list, a hidden window loading the PDF and
 * webContents.print({ silent: true, deviceName, pageSize: { width, height } in microns,
 * landscape, margins: { marginType: 'none' } }) to print). That code lives in electron/; here is
 * only the typed bridge it implements and the PrinterDriver over it, so client code stays free
 * of `electron` imports. It cannot run in this repository's CI (no Windows, no display).
 */
import { PrintError } from './errors';
import type { JobStatus, PrintJob, PrintJobRequest, PrinterDriver, PrinterInfo } from './printers';

/** What electron/ provides (over IPC from the app). */
export interface ElectronPrintBridge {
  getPrinters(): Promise<Array<{ name: string; isDefault: boolean; status: number }>>;
  printPdf(request: {
    deviceName: string;
    pdfPath: string;
    /** Page size in microns, as webContents.print wants it. */
    pageSize: { width: number; height: number };
    landscape: boolean;
    copies: number;
  }): Promise<{ ok: true } | { ok: false; reason: string }>;
}

const MICRONS_PER_POINT = 25_400 / 72;

/** PrinterDriver over Electron's printing; Electron reports no job ids, so ours are local. */
export class BridgePrinterDriver implements PrinterDriver {
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
        `printer "${request.printer}": not installed; add it in Windows Settings › Printers & scanners`,
      );
    }
    // Electron wants the sheet in portrait terms plus a landscape flag.
    const short = Math.min(request.medium.width, request.medium.height) * MICRONS_PER_POINT;
    const long = Math.max(request.medium.width, request.medium.height) * MICRONS_PER_POINT;
    const result = await this.bridge.printPdf({
      deviceName: request.printer,
      pdfPath: request.file,
      pageSize: { width: Math.round(short), height: Math.round(long) },
      landscape: request.medium.orientation === 'landscape',
      copies: request.copies ?? 1,
    });
    if (!result.ok) {
      throw new PrintError(
        'PRINT_JOB_REFUSED',
        `printer "${request.printer}": Windows refused the job (${result.reason}); check the printer and print again`,
      );
    }
    const id = `${request.printer}-${this.next++}`;
    this.jobs.set(id, { id, state: 'completed', message: 'handed to the Windows spooler' });
    return { id, printer: request.printer };
  }

  async jobStatus(jobId: string): Promise<JobStatus> {
    const status = this.jobs.get(jobId);
    if (!status) throw new PrintError('PRINT_JOB_NOT_FOUND', `job "${jobId}": unknown`);
    return status;
  }
}
