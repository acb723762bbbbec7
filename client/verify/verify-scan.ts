/**
 * @module verify/verify-scan
 * The verifier (DESIGN.md part 4): a scan of a piece → the Data Matrix bytes → the shared
 * signature and certificate check, and the mailing date against the scan date → one verdict.
 * Certificates come from a `CertificateSource`: the offline bundle (./cert-bundle.ts) or the
 * data center's directory, which the caller supplies. Online, the data center's own verdict
 * (`server`: recorded, refunded, scanned before) is asked too, and the piece's verdict is the
 * worst of the two; offline, the report says what could not be checked.
 */
import {
  verifyIndicium,
  type CertificateSource,
  type DecodedIndicium,
  type Verdict,
} from '../../shared/indicium';
import { MAIL_CLASSES } from '../../shared/mail-class';
import { formatDollars } from '../../shared/money';
import { localDate, mailingDateProblem } from './mailing-date';
import { readScanSymbols } from './scan';

/** A verdict of the scan: the indicium's own, or a mailing date outside the window. */
export type ScanVerdict = Verdict | 'wrong-date';

/** The data center's answer about one indicium. */
export interface ServerVerdict {
  verdict: string;
  reason: string;
}

export interface VerifyScanOptions {
  /** Offline bundle (loadBundle) or the data center's certificate directory. */
  certificates: CertificateSource;
  /**
   * The data center's verdict on an indicium the verifier found good (online verification):
   * unrecorded, refunded or already scanned pieces are its to know.
   */
  server?: (bytes: Uint8Array) => Promise<ServerVerdict>;
  /** True if this indicium was already presented (asked only for otherwise good ones). */
  seenBefore?: (bytes: Uint8Array) => Promise<boolean> | boolean;
  /** The scan day (YYYY-MM-DD); default today on this computer's clock. */
  scanDate?: string;
  /** Pages of a PDF to look at (default 20). */
  maxPages?: number;
}

/** What an offline verification cannot know; said on the verdict line. */
export const OFFLINE_UNCHECKED = ['duplicates', 'refunds'] as const;

export interface PieceVerdict {
  verdict: ScanVerdict;
  /** One line for a person. */
  line: string;
  bytes: Uint8Array;
  indicium?: DecodedIndicium;
}

export interface ScanReport {
  /** The scan's verdict: the worst of its pieces, or unreadable if none was found. */
  verdict: ScanVerdict;
  line: string;
  pieces: PieceVerdict[];
  /** What was not checked (offline: duplicates and refunds); empty when all was. */
  unchecked: string[];
}

/** Worst first: the order the worst of several verdicts is chosen in. */
const SEVERITY: readonly ScanVerdict[] = [
  'bad-signature',
  'unknown-certificate',
  'duplicate',
  'wrong-date',
  'unreadable',
  'demo-sample',
  'valid',
];

const isScanVerdict = (value: string): value is ScanVerdict =>
  (SEVERITY as readonly string[]).includes(value);

/** The worse of two verdicts. */
export function worstVerdict(a: ScanVerdict, b: ScanVerdict): ScanVerdict {
  return SEVERITY.indexOf(a) <= SEVERITY.indexOf(b) ? a : b;
}

export const VERDICT_LABEL: Record<ScanVerdict, string> = {
  valid: 'valid',
  'demo-sample': 'demo sample',
  'bad-signature': 'bad signature',
  'unknown-certificate': 'unknown certificate',
  duplicate: 'duplicate',
  'wrong-date': 'wrong date',
  unreadable: 'unreadable',
};

function describe(indicium: DecodedIndicium): string {
  const f = indicium.fields;
  return `${formatDollars(f.postageCents)} ${MAIL_CLASSES[f.mailClass].label}, meter ${f.deviceId}, mailed ${f.mailingDate} from ZIP ${f.originZip}, piece ${f.pieceId}`;
}

function pieceLine(
  verdict: ScanVerdict,
  reason: string,
  indicium?: DecodedIndicium,
  fromServer = false,
): string {
  const label = VERDICT_LABEL[verdict];
  switch (verdict) {
    case 'valid':
      return `${label}: ${indicium ? describe(indicium) : reason}`;
    case 'demo-sample':
      return `${label}: SAMPLE — NOT VALID POSTAGE (${indicium ? describe(indicium) : reason})`;
    case 'bad-signature':
      return `${label}: ${reason}; the printed data was altered or forged`;
    case 'unknown-certificate':
      return `${label}: ${reason}; refresh the certificates or report the piece`;
    case 'duplicate':
      if (fromServer) return `${label}: ${reason}; the postage was already used or given back`;
      return `${label}: ${indicium ? `piece ${indicium.fields.pieceId}` : 'this indicium'} was presented before; the postage was already used`;
    case 'wrong-date':
      return `${label}: ${reason}`;
    case 'unreadable':
      return `${label}: ${reason}`;
    default: {
      const never: never = verdict;
      throw new Error(`verdict ${String(never)}`);
    }
  }
}

/**
 * Verifies the bytes of one symbol: its signature and certificate, its mailing date against the
 * scan date, then (online) the data center's verdict. The worst of them is the piece's verdict.
 */
export async function verifySymbol(
  bytes: Uint8Array,
  opts: Pick<VerifyScanOptions, 'certificates' | 'seenBefore' | 'server' | 'scanDate'>,
): Promise<PieceVerdict> {
  const result = await verifyIndicium(bytes, opts.certificates);
  let verdict: ScanVerdict = result.verdict;
  let reason = result.reason;
  let fromServer = false;
  const good = () => verdict === 'valid' || verdict === 'demo-sample';
  if (verdict === 'valid' && result.indicium) {
    const scanDate = opts.scanDate ?? localDate(new Date());
    const problem = mailingDateProblem(result.indicium.fields.mailingDate, scanDate);
    if (problem) [verdict, reason] = ['wrong-date', problem];
  }
  if (good() && opts.server) {
    const answer = await opts.server(bytes);
    const said: ScanVerdict = isScanVerdict(answer.verdict) ? answer.verdict : 'unreadable';
    const worse = worstVerdict(verdict, said);
    if (worse !== verdict) {
      verdict = worse;
      fromServer = true;
      reason = isScanVerdict(answer.verdict)
        ? `the data center says: ${answer.reason}`
        : `the data center answered "${answer.verdict}", which this verifier does not know; update vpm`;
    }
  }
  if (good() && opts.seenBefore && (await opts.seenBefore(bytes))) verdict = 'duplicate';
  return {
    verdict,
    line: pieceLine(verdict, reason, result.indicium, fromServer),
    bytes,
    ...(result.indicium ? { indicium: result.indicium } : {}),
  };
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Reads a scan (PNG, JPEG or PDF) and gives the verdict on the indicia in it. */
export async function verifyScan(file: string, opts: VerifyScanOptions): Promise<ScanReport> {
  const symbols = await readScanSymbols(file, { maxPages: opts.maxPages ?? 20 });
  // Without the data center (or a caller's record of scans), used and refunded postage cannot
  // be told from good postage: the verdict says so rather than staying silent.
  const unchecked: string[] = opts.server || opts.seenBefore ? [] : [...OFFLINE_UNCHECKED];
  const caveat = (verdict: ScanVerdict) =>
    unchecked.length > 0 && (verdict === 'valid' || verdict === 'demo-sample')
      ? ` (offline: ${unchecked.join(' and ')} not checked; verify online to check them)`
      : '';
  if (symbols.length === 0) {
    const line = `unreadable: no Data Matrix indicium found in ${file}; scan the piece again at 200 dpi or more, flat and in focus`;
    return { verdict: 'unreadable', line, pieces: [], unchecked };
  }
  const pieces: PieceVerdict[] = [];
  for (const [i, bytes] of symbols.entries()) {
    const earlier = symbols.slice(0, i).some((s) => sameBytes(s, bytes));
    const seenBefore = async (b: Uint8Array): Promise<boolean> =>
      earlier || ((await opts.seenBefore?.(b)) ?? false);
    pieces.push(
      await verifySymbol(bytes, {
        certificates: opts.certificates,
        seenBefore,
        ...(opts.server ? { server: opts.server } : {}),
        ...(opts.scanDate ? { scanDate: opts.scanDate } : {}),
      }),
    );
  }
  const first = pieces[0];
  if (pieces.length === 1 && first)
    return {
      verdict: first.verdict,
      line: `${first.line}${caveat(first.verdict)}`,
      pieces,
      unchecked,
    };
  const verdict = SEVERITY.find((v) => pieces.some((p) => p.verdict === v)) ?? 'unreadable';
  const counts = SEVERITY.filter((v) => pieces.some((p) => p.verdict === v))
    .map((v) => `${pieces.filter((p) => p.verdict === v).length} ${VERDICT_LABEL[v]}`)
    .join(', ');
  return {
    verdict,
    line: `${VERDICT_LABEL[verdict]}: ${pieces.length} indicia (${counts})${caveat(verdict)}`,
    pieces,
    unchecked,
  };
}
