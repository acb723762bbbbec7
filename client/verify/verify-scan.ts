/**
 * @module verify/verify-scan
 * The verifier (DESIGN.md part 4): a scan of a piece → the Data Matrix bytes → the shared
 * signature and certificate check → one verdict. Certificates come from a `CertificateSource`:
 * the offline bundle (./cert-bundle.ts) or the data center's directory, which the caller
 * supplies; whether a piece was seen before is the caller's `seenBefore` (the data center when
 * online).
 */
import {
  verifyIndicium,
  type CertificateSource,
  type DecodedIndicium,
  type Verdict,
} from '../../shared/indicium';
import { MAIL_CLASSES } from '../../shared/mail-class';
import { formatDollars } from '../../shared/money';
import { readScanSymbols } from './scan';

export interface VerifyScanOptions {
  /** Offline bundle (loadBundle) or the data center's certificate directory. */
  certificates: CertificateSource;
  /** True if this indicium was already presented (asked only for otherwise good ones). */
  seenBefore?: (bytes: Uint8Array) => Promise<boolean> | boolean;
  /** Pages of a PDF to look at (default 20). */
  maxPages?: number;
}

export interface PieceVerdict {
  verdict: Verdict;
  /** One line for a person. */
  line: string;
  bytes: Uint8Array;
  indicium?: DecodedIndicium;
}

export interface ScanReport {
  /** The scan's verdict: the worst of its pieces, or unreadable if none was found. */
  verdict: Verdict;
  line: string;
  pieces: PieceVerdict[];
}

/** Worst first: the order a multi-piece scan's overall verdict is chosen in. */
const SEVERITY: readonly Verdict[] = [
  'bad-signature',
  'unknown-certificate',
  'duplicate',
  'unreadable',
  'demo-sample',
  'valid',
];

export const VERDICT_LABEL: Record<Verdict, string> = {
  valid: 'valid',
  'demo-sample': 'demo sample',
  'bad-signature': 'bad signature',
  'unknown-certificate': 'unknown certificate',
  duplicate: 'duplicate',
  unreadable: 'unreadable',
};

function describe(indicium: DecodedIndicium): string {
  const f = indicium.fields;
  return `${formatDollars(f.postageCents)} ${MAIL_CLASSES[f.mailClass].label}, meter ${f.deviceId}, mailed ${f.mailingDate} from ZIP ${f.originZip}, piece ${f.pieceId}`;
}

function pieceLine(verdict: Verdict, reason: string, indicium?: DecodedIndicium): string {
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
      return `${label}: ${indicium ? `piece ${indicium.fields.pieceId}` : 'this indicium'} was presented before; the postage was already used`;
    case 'unreadable':
      return `${label}: ${reason}`;
    default: {
      const never: never = verdict;
      throw new Error(`verdict ${String(never)}`);
    }
  }
}

/** Verifies the bytes of one symbol. */
export async function verifySymbol(
  bytes: Uint8Array,
  opts: Pick<VerifyScanOptions, 'certificates' | 'seenBefore'>,
): Promise<PieceVerdict> {
  const result = await verifyIndicium(bytes, opts.certificates);
  let verdict = result.verdict;
  if ((verdict === 'valid' || verdict === 'demo-sample') && opts.seenBefore) {
    if (await opts.seenBefore(bytes)) verdict = 'duplicate';
  }
  return {
    verdict,
    line: pieceLine(verdict, result.reason, result.indicium),
    bytes,
    ...(result.indicium ? { indicium: result.indicium } : {}),
  };
}

const sameBytes = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Reads a scan (PNG, JPEG or PDF) and gives the verdict on the indicia in it. */
export async function verifyScan(file: string, opts: VerifyScanOptions): Promise<ScanReport> {
  const symbols = await readScanSymbols(file, { maxPages: opts.maxPages ?? 20 });
  if (symbols.length === 0) {
    const line = `unreadable: no Data Matrix indicium found in ${file}; scan the piece again at 200 dpi or more, flat and in focus`;
    return { verdict: 'unreadable', line, pieces: [] };
  }
  const pieces: PieceVerdict[] = [];
  for (const [i, bytes] of symbols.entries()) {
    const earlier = symbols.slice(0, i).some((s) => sameBytes(s, bytes));
    const seenBefore = async (b: Uint8Array): Promise<boolean> =>
      earlier || ((await opts.seenBefore?.(b)) ?? false);
    pieces.push(await verifySymbol(bytes, { certificates: opts.certificates, seenBefore }));
  }
  const first = pieces[0];
  if (pieces.length === 1 && first) return { verdict: first.verdict, line: first.line, pieces };
  const verdict = SEVERITY.find((v) => pieces.some((p) => p.verdict === v)) ?? 'unreadable';
  const counts = SEVERITY.filter((v) => pieces.some((p) => p.verdict === v))
    .map((v) => `${pieces.filter((p) => p.verdict === v).length} ${VERDICT_LABEL[v]}`)
    .join(', ');
  return {
    verdict,
    line: `${VERDICT_LABEL[verdict]}: ${pieces.length} indicia (${counts})`,
    pieces,
  };
}
