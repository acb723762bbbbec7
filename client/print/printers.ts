/**
 * @module print/printers
 * Printer queues for the local print driver: the typed `PrinterDriver` interface and its CUPS
 * implementation (Linux and macOS), which runs the CUPS command line tools (`lpstat`,
 * `lpoptions`, `lp`) with execFile — never a shell — in the C locale so their output parses the
 * same everywhere. The desktop app can print through Chromium behind the same interface (the
 * only way on Windows; see ./bridge-printer.ts).
 */
import { execFile } from 'node:child_process';
import { PrintError } from './errors';
import type { Medium } from './media';

export interface PrinterInfo {
  name: string;
  isDefault: boolean;
  state: 'idle' | 'printing' | 'disabled' | 'unknown';
  accepting: boolean;
  /** Device URI, e.g. `usb://Zebra/ZD420` or `cups-pdf:/`. */
  device?: string;
  /** Page sizes the driver offers (PPD PageSize names), empty if the queue does not say. */
  media: string[];
  defaultMedia?: string;
}

export interface PrintJobRequest {
  printer: string;
  /**
   * A PDF made by the renderer, one page per sheet at the medium's exact size; for a driver whose
   * `format` is html, a whole HTML document (./html.ts).
   */
  file: string;
  medium: Medium;
  title?: string;
  copies?: number;
  /** The file is in the printer's own language (ZPL): sent as it is (`lp -o raw`). */
  raw?: boolean;
}

export interface PrintJob {
  /** The queue's job id, e.g. `Office-42`. */
  id: string;
  printer: string;
}

export type JobState = 'pending' | 'processing' | 'completed' | 'unknown';

export interface JobStatus {
  id: string;
  state: JobState;
  /** What CUPS says about it, for people. */
  message: string;
}

/** A way to print: CUPS here, Chromium's printing in the desktop app (./bridge-printer.ts). */
export interface PrinterDriver {
  /** What its jobs are: PDF files (the default) or HTML documents. */
  readonly format?: 'pdf' | 'html';
  listPrinters(): Promise<PrinterInfo[]>;
  submit(request: PrintJobRequest): Promise<PrintJob>;
  jobStatus(jobId: string): Promise<JobStatus>;
}

interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export type CommandRunner = (file: string, args: string[]) => Promise<RunResult>;

const C_LOCALE = { ...process.env, LANG: 'C', LC_ALL: 'C' };

/** Runs a program without a shell; a missing program is a PRINT_SYSTEM_MISSING error. */
export const runCommand: CommandRunner = (file, args) =>
  new Promise((resolve, reject) => {
    execFile(file, args, { env: C_LOCALE, timeout: 30_000 }, (error, stdout, stderr) => {
      if (error && (error as NodeJS.ErrnoException).code === 'ENOENT') {
        reject(
          new PrintError(
            'PRINT_SYSTEM_MISSING',
            `${file}: not installed; install the CUPS client tools (Debian/Ubuntu: apt install cups-client) or save the postage as a PDF instead`,
          ),
        );
        return;
      }
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ stdout, stderr, code });
    });
  });

/** CUPS queue names: printable, no space, slash, '#' or leading '-'. */
const QUEUE_NAME = /^[^\s/#\-\\'"][^\s/#\\'"]{0,126}$/;

function checkQueueName(name: string): void {
  if (!QUEUE_NAME.test(name)) {
    throw new PrintError(
      'PRINT_PRINTER_NOT_FOUND',
      `printer "${name}": not a valid queue name; run "lpstat -e" to see the queues`,
    );
  }
}

function notFound(name: string): PrintError {
  return new PrintError(
    'PRINT_PRINTER_NOT_FOUND',
    `printer "${name}": no such printer queue on this computer; run "lpstat -e" to see the queues, or add the printer in your system's printer settings`,
  );
}

/** Parses `lpoptions -l` output into the PageSize choices and the default (marked `*`). */
export function parsePageSizes(text: string): { media: string[]; defaultMedia?: string } {
  const line = text.split('\n').find((l) => /^PageSize\//.test(l) || /^PageSize:/.test(l));
  if (!line) return { media: [] };
  const choices = line
    .slice(line.indexOf(':') + 1)
    .trim()
    .split(/\s+/)
    .filter(Boolean);
  const marked = choices.find((c) => c.startsWith('*'));
  const media = choices.map((c) => c.replace(/^\*/, ''));
  return marked ? { media, defaultMedia: marked.slice(1) } : { media };
}

/** The CUPS driver: `lpstat`/`lpoptions` to list, `lp` to print, `lpstat -o` for job status. */
export class CupsPrinterDriver implements PrinterDriver {
  constructor(private readonly run: CommandRunner = runCommand) {}

  async listPrinters(): Promise<PrinterInfo[]> {
    const names = await this.run('lpstat', ['-e']);
    if (names.code !== 0 && !/no destinations/i.test(names.stderr)) {
      throw new PrintError(
        'PRINT_SYSTEM_MISSING',
        `lpstat: ${names.stderr.trim() || 'failed'}; is the CUPS service running? (systemctl start cups)`,
      );
    }
    const queues = names.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean);
    if (queues.length === 0) return [];
    const [states, devices, accepting, dflt] = await Promise.all([
      this.run('lpstat', ['-p']),
      this.run('lpstat', ['-v']),
      this.run('lpstat', ['-a']),
      this.run('lpstat', ['-d']),
    ]);
    const defaultName = /system default destination: (\S+)/.exec(dflt.stdout)?.[1];
    const printers: PrinterInfo[] = [];
    for (const name of queues) {
      const stateLine = states.stdout.split('\n').find((l) => l.startsWith(`printer ${name} `));
      const state: PrinterInfo['state'] = !stateLine
        ? 'unknown'
        : /disabled/.test(stateLine)
          ? 'disabled'
          : /now printing/.test(stateLine)
            ? 'printing'
            : 'idle';
      const device = devices.stdout
        .split('\n')
        .find((l) => l.startsWith(`device for ${name}: `))
        ?.slice(`device for ${name}: `.length)
        .trim();
      const accepts = accepting.stdout
        .split('\n')
        .some((l) => l.startsWith(`${name} accepting requests`));
      const options = await this.run('lpoptions', ['-p', name, '-l']);
      const sizes = options.code === 0 ? parsePageSizes(options.stdout) : { media: [] };
      printers.push({
        name,
        isDefault: name === defaultName,
        state,
        accepting: accepts,
        ...(device ? { device } : {}),
        ...sizes,
      });
    }
    return printers;
  }

  async submit(request: PrintJobRequest): Promise<PrintJob> {
    checkQueueName(request.printer);
    const copies = request.copies ?? 1;
    if (!Number.isInteger(copies) || copies < 1 || copies > 100) {
      throw new PrintError('PRINT_JOB_REFUSED', `copies: ${copies} is not between 1 and 100`);
    }
    const args = [
      '-d',
      request.printer,
      '-t',
      request.title ?? 'Postage',
      '-n',
      String(copies),
      ...(request.raw
        ? ['-o', 'raw']
        : [
            '-o',
            `media=${request.medium.cupsMedia}`,
            // 3 = portrait, 4 = landscape (IPP orientation-requested).
            '-o',
            `orientation-requested=${request.medium.orientation === 'landscape' ? 4 : 3}`,
            // Never let the driver shrink the page: a rescaled indicium is the thermal-label pain.
            '-o',
            'print-scaling=none',
          ]),
      '--',
      request.file,
    ];
    const result = await this.run('lp', args);
    const id = /request id is (\S+)/.exec(result.stdout)?.[1];
    if (result.code === 0 && id) return { id, printer: request.printer };
    const said = (result.stderr || result.stdout).trim();
    if (/does not exist|Invalid destination|not found/i.test(said)) throw notFound(request.printer);
    if (/not accepting/i.test(said)) {
      throw new PrintError(
        'PRINT_JOB_REFUSED',
        `printer "${request.printer}": not accepting jobs; turn it back on with "cupsaccept ${request.printer}" and "cupsenable ${request.printer}", or in the CUPS page http://localhost:631`,
      );
    }
    throw new PrintError(
      'PRINT_JOB_REFUSED',
      `printer "${request.printer}": CUPS refused the job (${said || `lp exit ${result.code}`}); check the printer in your system's printer settings and print again`,
    );
  }

  async jobStatus(jobId: string): Promise<JobStatus> {
    const dash = jobId.lastIndexOf('-');
    const queue = dash > 0 ? jobId.slice(0, dash) : '';
    if (!queue || !/^\d+$/.test(jobId.slice(dash + 1))) {
      throw new PrintError('PRINT_JOB_NOT_FOUND', `job "${jobId}": not a CUPS job id (QUEUE-N)`);
    }
    checkQueueName(queue);
    const open = await this.run('lpstat', ['-l', '-W', 'not-completed', '-o', queue]);
    if (open.code !== 0 && /Invalid destination|does not exist/i.test(open.stderr)) {
      throw notFound(queue);
    }
    const block = jobBlock(open.stdout, jobId);
    if (block !== undefined) {
      const printer = await this.run('lpstat', ['-p', queue]);
      const printing = printer.stdout.includes(`now printing ${jobId}`);
      const message = /Status: (.*)/.exec(block)?.[1]?.trim() ?? '';
      return {
        id: jobId,
        state: printing ? 'processing' : 'pending',
        message: message || (printing ? 'printing' : 'waiting in the queue'),
      };
    }
    const done = await this.run('lpstat', ['-W', 'completed', '-o', queue]);
    if (jobBlock(done.stdout, jobId) !== undefined) {
      // CUPS lists canceled and aborted jobs as completed too; lpstat cannot tell them apart.
      return {
        id: jobId,
        state: 'completed',
        message: 'finished (completed, canceled or aborted)',
      };
    }
    throw new PrintError(
      'PRINT_JOB_NOT_FOUND',
      `job "${jobId}": CUPS does not know it (it may have been purged); check the printer`,
    );
  }
}

/** The lines of one job in `lpstat -o` output (its line and indented detail lines). */
function jobBlock(text: string, jobId: string): string | undefined {
  const lines = text.split('\n');
  const at = lines.findIndex((l) => l.split(/\s+/)[0] === jobId);
  if (at < 0) return undefined;
  const out = [lines[at]];
  for (let i = at + 1; i < lines.length && /^\s/.test(lines[i] ?? ''); i++) out.push(lines[i]);
  return out.join('\n');
}
