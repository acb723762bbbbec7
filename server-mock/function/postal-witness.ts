/**
 * @module function/postal-witness
 * The data center's link to the postal authority (the patent's report to the post; DESIGN.md "The
 * postal authority is the outside witness"). It only carries what the meter box signs and what
 * the post signs back:
 *   - at start, the box's challenge (a fresh nonce) goes to the post, and the post's receipt back
 *     to the box, which compares it with its own state (a restored copy refuses to dispense);
 *   - after each dispense's COMMIT, the reports in the durable outbox (postal_outbox, written in
 *     the dispense's own transaction) go to the post in batches, in sequence, and each receipt
 *     goes to the box, which then lets dispensing run on by its window.
 * The post unreachable: retries with backoff; the box stops at its window edge and the requests
 * get "try again", until the post answers again.
 */
import { Pool } from 'undici';
import type { Signed, SignedReceipt } from '../../shared/postal/wire';
import { BoxError, type Boxes, type WitnessStatus } from '../boxes/api';
import type { OutboxReport, Storage } from '../storage/storage';

/** Reports per request to the post (its limit is 200). */
const BATCH = 100;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5000;

export interface PostalWitnessOptions {
  url: string;
  /** The postal authority's CA: pinned for HTTPS, and by the meter box for receipts. */
  caPem: string;
  boxes: Boxes;
  storage: Storage;
  /** Narrower windows than the box's maximum (tests). */
  windowPieces?: number;
  windowMs?: number;
  log: (event: string, fields: Record<string, unknown>) => void;
  alert: (code: string, reason: string) => Promise<void>;
}

/** The outbox row of a signed report (its sequence read from the body the box signed). */
export function outboxReport(report: Signed): OutboxReport {
  const { seq } = JSON.parse(report.body) as { seq: number };
  return { seq, body: report.body, signature: report.signature };
}

class PostalUnreachable extends Error {}

export class PostalWitness {
  private readonly pool: Pool;
  private certificatePem: string | undefined;
  private status: WitnessStatus | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private delay = RETRY_MIN_MS;
  private closed = false;
  private unreachableSince: number | undefined;
  /**
   * Stores a meter's journaled command the database missed (DataCenter.settleMeter), set once the
   * data center exists: finds a report the box signed that never reached the outbox.
   */
  settleMeter: ((serial: string) => Promise<boolean>) | undefined;

  constructor(private readonly options: PostalWitnessOptions) {
    const url = new URL(options.url);
    if (url.protocol !== 'https:')
      throw new Error(`postal authority URL ${options.url}: must start with https://`);
    this.pool = new Pool(url.origin, {
      connect: { ca: options.caPem, rejectUnauthorized: true, timeout: 10_000 },
      connections: 2,
      headersTimeout: 15_000,
      bodyTimeout: 15_000,
    });
  }

  /** The box's standing, as last answered. */
  get state(): WitnessStatus['state'] | 'unknown' {
    return this.status?.state ?? 'unknown';
  }

  /** Runs the start check once (the caller may go on if the post is unreachable). */
  async start(): Promise<WitnessStatus['state'] | 'unreachable'> {
    await this.kickNow();
    return this.status?.state ?? 'unreachable';
  }

  /**
   * After the box refused for want of a receipt: one round with the post (bounded by `ms`).
   * True when the box is confirmed and the post answered, so the refused command may be retried.
   */
  async settle(ms: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.kickNow(),
      new Promise<void>((done) => {
        timer = setTimeout(done, ms);
      }),
    ]);
    clearTimeout(timer);
    return this.status?.state === 'confirmed' && this.unreachableSince === undefined;
  }

  /** Sends what is waiting (after a COMMIT, or when the box refused for want of a receipt). */
  kick(): void {
    void this.kickNow();
  }

  private kickNow(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.round();
      } while (this.again && !this.closed);
    })().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async round(): Promise<void> {
    try {
      if (this.status?.state === 'rolled-back') return;
      // A restarted box forgets its confirmation: ask it, not our memory of it.
      this.status = await this.options.boxes.meter.witnessStatus();
      if (this.status.state !== 'confirmed') await this.confirm();
      if (this.status?.state === 'confirmed' && (await this.flush()) === 'stuck') {
        // The post waits for a report the outbox does not hold: the box signed it, the data
        // center stopped before its COMMIT. The box knows the meter; its journal has the report.
        const missing = this.status.open[String(this.status.receiptSeq + 1)];
        // Nothing to store: the command is still on its way to its COMMIT, which kicks again.
        if (missing && (await this.settleMeter?.(missing))) this.again = true;
      }
      if (this.unreachableSince !== undefined) {
        this.options.log('postal-reachable', {
          after: `${Math.round((Date.now() - this.unreachableSince) / 1000)} s`,
        });
        this.unreachableSince = undefined;
      }
      this.delay = RETRY_MIN_MS;
    } catch (error) {
      if (this.closed) return;
      if (error instanceof BoxError && error.code === 'WITNESS_MISMATCH') {
        this.options.log('postal-refused', { reason: error.message });
      } else if (!(error instanceof PostalUnreachable) && !(error instanceof BoxError)) {
        this.options.log('postal-error', { error: String(error) });
      }
      if (this.unreachableSince === undefined) {
        this.unreachableSince = Date.now();
        this.options.log('postal-waiting', {
          url: this.options.url,
          reason: error instanceof Error ? error.message : String(error),
          effect:
            'dispensing stops at the meter box window edge until the postal authority answers',
        });
      }
      this.retryLater();
    }
  }

  private retryLater(): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.kick();
    }, this.delay);
    this.timer.unref();
    this.delay = Math.min(this.delay * 2, RETRY_MAX_MS);
  }

  private async post<T>(path: string, body: unknown): Promise<T> {
    let res;
    try {
      res = await this.pool.request({
        path,
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    } catch (error) {
      throw new PostalUnreachable(
        `postal authority ${this.options.url}: unreachable (${error instanceof Error ? error.message : String(error)})`,
      );
    }
    const text = await res.body.text();
    if (res.statusCode !== 200) {
      const message =
        (JSON.parse(text || '{}') as { error?: { message?: string } }).error?.message ?? text;
      throw new Error(`postal authority ${path}: ${res.statusCode} ${message}`);
    }
    return JSON.parse(text) as T;
  }

  /** The start check: the box's fresh challenge, the post's receipt, the box's judgement. */
  private async confirm(): Promise<void> {
    const { challenge, certificatePem } = await this.options.boxes.meter.witnessChallenge({
      postalCaPem: this.options.caPem,
      ...(this.options.windowPieces ? { windowPieces: this.options.windowPieces } : {}),
      ...(this.options.windowMs ? { windowMs: this.options.windowMs } : {}),
    });
    this.certificatePem = certificatePem;
    const { receipt } = await this.post<{ receipt: SignedReceipt }>('/v1/challenge', {
      certificatePem,
      challenge,
    });
    await this.take(receipt);
  }

  private async take(receipt: SignedReceipt): Promise<void> {
    const before = this.status?.state;
    this.status = await this.options.boxes.meter.witnessReceipt({ receipt });
    if (this.status.state === 'rolled-back' && before !== 'rolled-back') {
      const { seq } = JSON.parse(receipt.body) as { seq: number };
      await this.options.alert(
        'ROLLBACK_DETECTED',
        `the postal authority holds report ${seq} from meter box ${this.status.boxId}, whose state ends at report ${this.status.seq}: the data directory was restored from a copy; the box dispenses nothing`,
      );
    }
  }

  /**
   * Sends the outbox in sequence until it is empty or the post stops taking it. 'stuck' when the
   * box has signed reports the post has not received and the outbox cannot supply the next one.
   */
  private async flush(): Promise<'done' | 'stuck'> {
    for (;;) {
      const reports = await this.options.storage.postalOutbox(BATCH);
      const status = this.status;
      if (reports.length === 0)
        return status && status.seq > status.receiptSeq && Object.keys(status.open).length > 0
          ? 'stuck'
          : 'done';
      const { receipt, nextSeq } = await this.post<{ receipt: SignedReceipt; nextSeq: number }>(
        '/v1/reports',
        {
          certificatePem: this.certificatePem,
          reports: reports.map((r) => ({ body: r.body, signature: r.signature })),
        },
      );
      await this.take(receipt);
      await this.options.storage.clearPostalOutbox(nextSeq - 1);
      if (this.status?.state === 'rolled-back') return 'done';
      if ((reports[0]?.seq ?? 0) >= nextSeq) return 'stuck';
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
    await this.pool.close();
  }
}
