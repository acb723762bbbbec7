/**
 * @module verify/postal-check
 * The verifier's question to the postal authority (DESIGN.md "The postal authority is the outside
 * witness"): was this validly signed indicium reported by its meter box, and is it the one
 * reported for its (meter, ascending register)? An indicium never reported, or a register reported
 * for another piece, is postage the post does not accept (and a fraud alert on its side). Asked
 * only about pieces whose signature already verified; HTTPS with the post's CA pinned.
 */
import { HttpsOrigin } from '../services/https-origin';
import type { CertificateSource } from '../../shared/indicium';
import type { PostalCheckResponse, PostalFinding } from '../../shared/postal/wire';
import type { ScanReport } from './verify-scan';

export interface PostalLink {
  url: string;
  /** The postal authority's CA (its PDIR/tls/ca.pem). */
  caPem: string;
}

export interface PostalPieceFinding {
  pieceId: string;
  finding: PostalFinding;
  line: string;
}

export class PostalCheckError extends Error {
  readonly code = 'POSTAL_UNREACHABLE';
}

/** Asks the postal authority about every valid (or demo) piece of a scan report. */
export async function checkWithPostal(
  report: ScanReport,
  certificates: CertificateSource,
  postal: PostalLink,
): Promise<{ accepted: boolean; findings: PostalPieceFinding[] }> {
  const url = new URL(postal.url);
  if (url.protocol !== 'https:')
    throw new PostalCheckError(`postal authority URL ${postal.url}: must start with https://`);
  const pool = new HttpsOrigin(url, { caPem: postal.caPem, timeoutMs: 15_000, connections: 1 });
  const findings: PostalPieceFinding[] = [];
  try {
    for (const piece of report.pieces) {
      if (piece.verdict !== 'valid' && piece.verdict !== 'demo-sample') continue;
      const f = piece.indicium?.fields;
      const certificatePem = f ? await certificates.find(f.certificateSerial) : undefined;
      if (!f || !certificatePem) continue;
      let status: number;
      let text: string;
      try {
        const res = await pool.request({
          path: '/v1/check',
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            indicium: Buffer.from(piece.bytes).toString('base64'),
            certificatePem,
          }),
        });
        status = res.statusCode;
        text = res.text;
      } catch (error) {
        throw new PostalCheckError(
          `postal authority ${postal.url}: unreachable (${error instanceof Error ? error.message : String(error)}); check again later or without --postal`,
        );
      }
      if (status !== 200)
        throw new PostalCheckError(`postal authority ${postal.url}: answered ${status}: ${text}`);
      const answer = JSON.parse(text) as PostalCheckResponse;
      const line =
        answer.finding === 'reported'
          ? `postal authority: piece ${f.pieceId} was reported (${answer.reason})`
          : answer.finding === 'unreported'
            ? `postal authority: piece ${f.pieceId} was NEVER REPORTED by its meter (${answer.reason}); not accepted, fraud alert raised`
            : `postal authority: piece ${f.pieceId} REUSES an ascending register (${answer.reason}); not accepted, fraud alert raised`;
      findings.push({ pieceId: f.pieceId, finding: answer.finding, line });
    }
  } finally {
    pool.close();
  }
  return { accepted: findings.every((f) => f.finding === 'reported'), findings };
}
