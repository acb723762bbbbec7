/**
 * @module services/postage-service
 * Buying and printing postage on the mailer's side: one piece, a batch from a CSV address list
 * (checked whole first, then charged in chunks with one idempotency key per row kept in a resume
 * file written before anything is sent, so an interrupted batch resumes without charging twice),
 * reprints (never charged) and refunds. Output is one PDF file or one printer job. Every output
 * check (./output-check.ts) runs before anything is charged. A batch is known by its content
 * (a hash of its normalized rows), so the same list again is refused unless the mailer asks to
 * print it again.
 */
import { createHash, randomUUID } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type * as Api from '../../shared/api/schemas';
import type { ErrorCode } from '../../shared/errors';
import type { MailClass } from '../../shared/mail-class';
import { isImbTrackingCode, isImpbTrackingNumber } from '../../shared/tracking';
import type { Address, Calibration, MediumId, PrintPiece, PrinterDriver } from '../print/index';
import { AddressCheckError, checkAddress, type AddressOverride } from '../address/address-check';
import { RateStore } from '../rates/rate-store';
import { rateSource, type RateSource } from '../rates/rate-sync';
import { DataCenterClient } from './datacenter-client';
import { parseBatchCsv, type BatchPiece } from './batch-csv';
import { checkBatch, type CheckedPiece } from './batch-check';
import { note, readRun, startRun, type BatchRun } from './batch-journal';
import { pieceSpec } from './http-requests';
import { checkOutput } from './output-check';
import type { SessionManager } from './session';

/** The print driver (pdfkit and the encoders), loaded when something is first printed. */
const loadPrintDriver = () => import('../print/index');

export interface Output {
  /** Write the PDF (or, with `format: 'html'`, the HTML document) here… */
  out?: string;
  /** The file's format: PDF (default), the HTML document Chromium prints, or a thermal printer's ZPL. */
  format?: 'pdf' | 'html' | 'zpl';
  /** A thermal printer's resolution (203 or 300 dpi): ZPL, and PDF labels on its dot grid. */
  dpi?: number;
  /** Envelopes carry the Intelligent Mail barcode of their tracking code (the mailer's setting). */
  imb?: boolean;
  /** …or send it to this printer queue (the PDF is then kept in the client's folder). */
  printer?: string;
  media: MediumId;
  calibration?: Calibration;
  returnAddress?: Address;
}

export interface OutputResult {
  pdfPath: string | null;
  jobId: string | null;
  pages: number;
}

export interface Progress {
  phase: 'charging' | 'rendering';
  done: number;
  total: number;
}

export interface BatchOptions {
  /**
   * true: finish an interrupted run of this list (refused when there is none); 'if-interrupted':
   * finish one if there is one, else start (the app's "run again after a failure").
   */
  resume?: boolean | 'if-interrupted';
  /** Print a list that was printed in full before: every row is bought and charged again. */
  again?: boolean;
  /** Keep every address as written though the ZIP check disagrees (kept with each piece). */
  acceptAddresses?: boolean;
  onProgress?: (p: Progress) => void;
}

/** A refusal of the batch flow, with a stable code (BATCH_ALREADY_PRINTED, BATCH_INTERRUPTED…). */
export class BatchError extends Error {
  constructor(
    readonly code: Extract<
      ErrorCode,
      'BATCH_ALREADY_PRINTED' | 'BATCH_INTERRUPTED' | 'BATCH_NOTHING_TO_RESUME'
    >,
    message: string,
  ) {
    super(message);
    this.name = 'BatchError';
  }
}

/** A piece that was refunded: it is not postage any more, so it is never printed again. */
export class RefundedPieceError extends Error {
  readonly code = 'PIECE_REFUNDED';
  constructor(pieceId: string) {
    super(
      `piece ${pieceId}: refunded, so it is not valid postage and is not printed again; buy a new piece (vpm print) instead`,
    );
    this.name = 'RefundedPieceError';
  }
}

export class BatchInvalidError extends Error {
  readonly code = 'BATCH_INVALID';
  constructor(readonly errors: { line: number; message: string }[]) {
    super(
      `batch: ${errors.length} bad row(s), nothing was charged:\n${errors.map((e) => `  line ${e.line}: ${e.message}`).join('\n')}`,
    );
  }
}

/** One way of writing a row's text: NFC, spaces collapsed, capitals (as it prints). */
const normal = (value: string | undefined): string =>
  (value ?? '').normalize('NFC').replace(/\s+/g, ' ').trim().toUpperCase();

/**
 * The hash of a batch's rows as they will be bought and printed, so the same list is the same
 * batch however the file was saved (quoting, spacing, line endings, letter case, extra columns).
 */
export function batchDigest(pieces: readonly BatchPiece[], meterSerial: string): string {
  const rows = pieces.map((p) => [
    normal(p.recipient.name),
    normal(p.recipient.company),
    normal(p.recipient.street),
    normal(p.recipient.street2),
    normal(p.recipient.city),
    normal(p.recipient.state),
    normal(p.recipient.zip).replace(/-/g, ''),
    p.mailClass,
    p.postageCents,
  ]);
  // The meter too: the same list bought by another account on this computer is its own batch.
  return createHash('sha256')
    .update(JSON.stringify([meterSerial, rows]))
    .digest('hex');
}

interface JournalLine {
  pieceId: string;
  recipient: Address;
  /** The return address printed on the piece (reprints print the same). */
  returnAddress?: Address;
  /** The mailer kept an address the ZIP check disagreed with. */
  addressOverride?: AddressOverride;
}

/**
 * The barcodes a piece's tracking number gives it: a package's IMpb (drawn on labels), and a
 * letter's Intelligent Mail barcode when the mailer turned it on (drawn on envelopes).
 */
export function barcodes(
  piece: { trackingNumber?: string },
  output: Pick<Output, 'imb'>,
): Pick<PrintPiece, 'tracking' | 'imb'> {
  const t = piece.trackingNumber;
  if (t === undefined) return {};
  if (isImpbTrackingNumber(t)) return { tracking: t };
  if (output.imb && isImbTrackingCode(t)) return { imb: t };
  return {};
}

/** Pieces per request; VPM_BATCH_CHUNK lowers it (tests interrupt a batch between chunks). */
export function batchChunk(env: NodeJS.ProcessEnv = process.env): number {
  return Math.min(500, Math.max(1, Number(env.VPM_BATCH_CHUNK) || 100));
}

export class PostageService {
  constructor(
    private readonly session: SessionManager,
    readonly home: string,
    /** How jobs reach printers: CUPS by default; Chromium's printing in the desktop app. */
    private readonly driver?: PrinterDriver,
    /** Pieces per request: batchChunk() of the `vpm` command line's environment (cli/context). */
    private readonly chunk = batchChunk(),
  ) {}

  private get journalFile() {
    return join(this.home, 'pieces.jsonl');
  }

  /** Keeps each piece's recipient locally (the data center never sees addresses) for reprints. */
  private async remember(lines: JournalLine[]): Promise<void> {
    await mkdir(this.home, { recursive: true, mode: 0o700 });
    await appendFile(this.journalFile, lines.map((l) => JSON.stringify(l)).join('\n') + '\n', {
      mode: 0o600,
    });
  }

  /** What the local history keeps of each piece: recipient, return address, address override. */
  async journal(): Promise<Map<string, JournalLine>> {
    const map = new Map<string, JournalLine>();
    const text = await readFile(this.journalFile, 'utf8').catch(() => '');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const entry = JSON.parse(line) as JournalLine;
      map.set(entry.pieceId, entry);
    }
    return map;
  }

  /** The rate table and zone chart this client prices from. */
  get rates(): RateStore {
    return new RateStore(this.home);
  }

  /**
   * The rate table to price from: the data center's (checked against the pinned vendor CA and
   * cached), else the cached one offline, else the shipped one (client/rates/rate-sync.ts).
   */
  async rateTable(options: { refresh?: boolean } = {}): Promise<RateSource> {
    const server = await this.session.server().catch(() => undefined);
    const fetchRates = server && {
      serverUrl: server.serverUrl,
      fetch: async () => {
        const client = new DataCenterClient({
          serverUrl: server.serverUrl,
          caPem: server.caPem,
          retries: 0,
          timeoutMs: 10_000,
        });
        try {
          return await client.rates();
        } finally {
          await client.close();
        }
      },
    };
    return rateSource(this.rates, fetchRates, options);
  }

  async output(
    pieces: PrintPiece[] | AsyncIterable<PrintPiece>,
    output: Output,
    name: string,
    onProgress?: (piecesWritten: number) => void,
  ): Promise<OutputResult> {
    const opts = {
      media: output.media,
      ...(onProgress ? { onProgress } : {}),
      ...(output.calibration ? { calibration: output.calibration } : {}),
      ...(output.returnAddress ? { returnAddress: output.returnAddress } : {}),
      ...(output.dpi ? { dpi: output.dpi } : {}),
    };
    if (output.format === 'zpl') {
      // ZPL goes raw to a thermal printer's queue, or into a file.
      const { printZpl, renderZplToFile } = await loadPrintDriver();
      if (output.printer) {
        const result = await printZpl(
          pieces,
          { ...opts, printer: output.printer, title: name },
          this.driver,
        );
        return { pdfPath: null, jobId: result.job.id, pages: result.pages };
      }
      const path = output.out ?? join(this.home, 'output', `${name}.zpl`);
      await mkdir(join(path, '..'), { recursive: true });
      const result = await renderZplToFile(pieces, opts, path);
      return { pdfPath: path, jobId: null, pages: result.pages };
    }
    if (output.printer) {
      const { printPieces } = await loadPrintDriver();
      const result = await printPieces(pieces, {
        ...opts,
        printer: output.printer,
        title: name,
        ...(this.driver ? { driver: this.driver } : {}),
      });
      return { pdfPath: null, jobId: result.job.id, pages: result.pages };
    }
    const html = output.format === 'html';
    const pdfPath = output.out ?? join(this.home, 'output', `${name}.${html ? 'html' : 'pdf'}`);
    await mkdir(join(pdfPath, '..'), { recursive: true });
    const { renderHtmlToFile, renderToFile } = await loadPrintDriver();
    const result = await (html ? renderHtmlToFile : renderToFile)(pieces, opts, pdfPath);
    return { pdfPath, jobId: null, pages: result.pages };
  }

  /** Buys one indicium and prints it. The key makes a retry return the same indicium. */
  async printOne(
    piece: {
      recipient: Address;
      postageCents: number;
      mailClass: MailClass;
      idempotencyKey?: string;
      mailingDate?: string;
      /** Keep the recipient as written though the ZIP check disagrees (remembered on the piece). */
      acceptAddress?: boolean;
      /** The weight, when known: the tracking number's service type depends on it. */
      weightOz?: number;
    },
    output: Output,
  ): Promise<
    {
      piece: Api.IssuedPiece;
      balanceCents: number;
      addressOverride?: AddressOverride;
    } & OutputResult
  > {
    // Everything that could stop the print is checked before the data center charges; then the
    // address against the ZIP database, in USPS style (a disagreement needs the override).
    await checkOutput(output, [{ recipient: piece.recipient }], this.driver);
    const check = await checkAddress(piece.recipient);
    if (!check.ok && !piece.acceptAddress) throw new AddressCheckError(check);
    const addressOverride: AddressOverride | undefined = check.ok
      ? undefined
      : { accepted: true, problems: check.problems, at: new Date().toISOString() };
    const recipient = { ...piece.recipient, ...check.normalized };
    const idempotencyKey = piece.idempotencyKey ?? randomUUID();
    const response = await this.session.call((c) =>
      c.dispense({
        pieces: [
          pieceSpec({
            ...piece,
            idempotencyKey,
            recipient: { zip: recipient.zip.replace('-', '') },
          }),
        ],
        ...(piece.mailingDate ? { mailingDate: piece.mailingDate } : {}),
      }),
    );
    const issued = response.pieces[0] as Api.IssuedPiece;
    // A retried key can answer with a piece refunded since: that is not postage any more.
    if (issued.status === 'refunded') throw new RefundedPieceError(issued.pieceId);
    await this.remember([
      {
        pieceId: issued.pieceId,
        recipient,
        ...(output.returnAddress ? { returnAddress: output.returnAddress } : {}),
        ...(addressOverride ? { addressOverride } : {}),
      },
    ]);
    const result = await this.output(
      [
        {
          indicium: Buffer.from(issued.indicium, 'base64'),
          recipient,
          ...barcodes(issued, output),
        },
      ],
      output,
      `piece-${issued.pieceId}`,
    );
    return {
      piece: issued,
      balanceCents: response.balanceCents,
      ...(addressOverride ? { addressOverride } : {}),
      ...result,
    };
  }

  /**
   * Checks a CSV whole, without charging: its rows, every address against the ZIP database and
   * the postage of rows priced by zone (from the meter's origin ZIP when signed in).
   */
  async validate(csv: string, options: { acceptAddresses?: boolean } = {}) {
    const { table } = await this.rateTable();
    const parsed = parseBatchCsv(csv, { table });
    const needsOrigin = parsed.pieces.some((p) => p.needsQuote);
    const originZip = needsOrigin
      ? await this.session.call((c) => c.account()).then((a) => a.originZip)
      : undefined;
    return checkBatch(parsed, {
      table,
      ...(originZip ? { originZip } : {}),
      ...(options.acceptAddresses ? { acceptAddresses: true } : {}),
      chart: await this.rates.zoneChart(),
    });
  }

  private resumePath(digest: string) {
    return join(this.home, 'batches', `${digest.slice(0, 32)}.json`);
  }

  /**
   * Runs a batch: validates every row first (nothing charged on any error), then charges in
   * chunks and renders one PDF or one printer job. `resume` continues an interrupted run of the
   * same file with the same keys, so only unpaid rows are charged.
   */
  async runBatch(
    csv: string,
    output: Output,
    options: BatchOptions = {},
  ): Promise<{ pieces: number; charged: number; balanceCents: number } & OutputResult> {
    return this.batch(csv, output, options);
  }

  private async batch(
    csv: string,
    output: Output,
    options: BatchOptions,
  ): Promise<{ pieces: number; charged: number; balanceCents: number } & OutputResult> {
    // Asked for at once, awaited when needed: the print driver's modules load and the account
    // answers while the list is checked.
    const driverLoaded = loadPrintDriver();
    driverLoaded.catch(() => undefined);
    const account = this.session.call((c) => c.account());
    account.catch(() => undefined);
    // Every row, address and zone price is checked before the first charge.
    const parsed = await this.validate(csv, {
      ...(options.acceptAddresses ? { acceptAddresses: true } : {}),
    });
    if (parsed.errors.length > 0) throw new BatchInvalidError(parsed.errors);
    // Printer, medium, calibration and every address are checked before the first charge.
    await checkOutput(output, parsed.pieces, this.driver);
    const { meterSerial } = await account;
    const digest = batchDigest(parsed.pieces, meterSerial);
    const CHUNK = this.chunk; // pieces per request
    const file = this.resumePath(digest);
    const earlier = await readRun(file);
    let state: BatchRun;
    await mkdir(join(this.home, 'batches'), { recursive: true, mode: 0o700 });
    if (earlier && !earlier.complete) {
      if (!options.resume)
        throw new BatchError(
          'BATCH_INTERRUPTED',
          'batch: an earlier run of this list was interrupted; add --resume to finish it without charging twice',
        );
      state = earlier; // the same keys: rows already paid are answered, not charged again
    } else if (earlier) {
      if (!options.again)
        throw new BatchError(
          'BATCH_ALREADY_PRINTED',
          `batch: this list (the same ${parsed.pieces.length} rows) was printed in full${earlier.completedAt ? ` on ${earlier.completedAt.slice(0, 10)}` : ''}; printing it again buys and charges every row again. If that is what you want, confirm "print again" (vpm batch --again); to print a piece again for free, reprint it from the history`,
        );
      state = await startRun(file, randomUUID(), digest); // the keys follow from its id
    } else {
      if (options.resume === true)
        throw new BatchError(
          'BATCH_NOTHING_TO_RESUME',
          'batch: there is no interrupted run of this list to resume; run it without --resume',
        );
      state = await startRun(file, randomUUID(), digest); // the keys follow from its id
    }
    const total = parsed.pieces.length;
    let charged = 0;
    let balanceCents = 0;
    const session = this.session;
    const resume = state;
    const remember = (lines: JournalLine[]) => this.remember(lines);
    // Charging and rendering overlap: the next chunk is bought while the pieces of this one are
    // being encoded and drawn, so the printer side never waits for the data center. Charges are
    // made one at a time, in order; every key follows from the run's id, on disk before the first
    // request, so an interruption anywhere resumes (a piece bought but not yet drawn is printed
    // by the resumed run). The resume file is a journal: a line per chunk, never rewritten.
    const charge = async (i: number) => {
      const chunk = parsed.pieces.slice(i, i + CHUNK);
      const response = await session.call((c) =>
        c.dispense({
          pieces: chunk.map((p) => pieceSpec({ ...p, idempotencyKey: resume.keyOf(p.line) })),
        }),
      );
      balanceCents = response.balanceCents;
      const paid: Record<string, string> = {};
      response.pieces.forEach((issued, j) => {
        if (!issued.replayed) charged++;
        paid[(chunk[j] as BatchPiece).line] = issued.pieceId;
      });
      await note(file, { paid });
      // A resumed run never prints a row whose piece was refunded meanwhile.
      const refunded = response.pieces.find((issued) => issued.status === 'refunded');
      if (refunded) throw new RefundedPieceError(refunded.pieceId);
      await remember(
        response.pieces.map((issued, j) => {
          const row = chunk[j] as CheckedPiece;
          return {
            pieceId: issued.pieceId,
            recipient: row.recipient,
            ...(output.returnAddress ? { returnAddress: output.returnAddress } : {}),
            ...(row.addressOverride ? { addressOverride: row.addressOverride } : {}),
          };
        }),
      );
      options.onProgress?.({ phase: 'charging', done: Math.min(i + CHUNK, total), total });
      return { chunk, issued: response.pieces };
    };
    const chargeAhead = (i: number) => {
      const charging = charge(i);
      charging.catch(() => undefined); // awaited when its pieces are due; not unhandled meanwhile
      return charging;
    };
    // The first chunk is bought while the print driver finishes loading.
    const first = total > 0 ? chargeAhead(0) : undefined;
    async function* paidPieces(): AsyncGenerator<PrintPiece> {
      let next = first;
      try {
        for (let i = 0; next; i += CHUNK) {
          const { chunk, issued } = await next;
          next = i + CHUNK < total ? chargeAhead(i + CHUNK) : undefined;
          for (const [j, piece] of issued.entries()) {
            yield {
              indicium: Buffer.from(piece.indicium, 'base64'),
              recipient: (chunk[j] as BatchPiece).recipient,
              ...barcodes(piece, output),
            };
          }
        }
      } finally {
        // Stopped early (the output failed): let a purchase in flight finish its bookkeeping.
        await next?.catch(() => undefined);
      }
    }
    // Progress counts the pieces whose pages are written (not those bought or being drawn), in
    // hundreds and at the end.
    let reported = 0;
    const written = (done: number) => {
      const step = done >= total ? total : done - (done % 100);
      if (step <= reported) return;
      reported = step;
      options.onProgress?.({ phase: 'rendering', done: step, total });
    };
    let result: OutputResult;
    try {
      await driverLoaded;
      result = await this.output(paidPieces(), output, `batch-${state.batchId}`, written);
    } catch (error) {
      await first?.catch(() => undefined); // bought even if the output failed before taking it
      throw error;
    }
    written(total); // outputs that report no progress of their own (HTML) report the end here
    await note(file, { complete: true, completedAt: new Date().toISOString() });
    return { pieces: total, charged, balanceCents, ...result };
  }

  /** Prints an issued piece again. Never charges; a refunded piece is refused. */
  async reprint(pieceId: string, output: Output): Promise<OutputResult> {
    const piece = await this.findPiece(pieceId);
    if (piece.status === 'refunded') throw new RefundedPieceError(piece.pieceId);
    const kept = (await this.journal()).get(piece.pieceId);
    const recipient = kept?.recipient ?? {
      name: '',
      street: '',
      city: '',
      state: '',
      zip: piece.destinationZip,
    };
    return this.output(
      [
        {
          indicium: Buffer.from(piece.indicium, 'base64'),
          recipient,
          ...barcodes(piece, output),
          ...(kept?.returnAddress ? { returnAddress: kept.returnAddress } : {}),
        },
      ],
      output,
      `reprint-${piece.pieceId}`,
    );
  }

  async findPiece(pieceId: string): Promise<Api.HistoryItem> {
    const page = await this.session.call((c) => c.history({ q: pieceId, pageSize: 5 }));
    const piece = page.items.find((i) => i.pieceId === pieceId);
    if (!piece)
      throw Object.assign(
        new Error(`piece ${pieceId}: not in your history; vpm history lists your pieces`),
        { code: 'PIECE_NOT_FOUND' },
      );
    return piece;
  }

  refund(pieceId: string) {
    return this.session.call((c) => c.refund({ pieceId }));
  }
}
