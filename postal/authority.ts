/**
 * @module postal/authority
 * What the postal authority does with what the data centers send it (the patent's report to the
 * post; DESIGN.md "The postal authority is the outside witness"):
 *   - reports: signed by a meter box whose report key an approved vendor CA certified; taken in
 *     sequence per box, each piece's (meter, ascending register) kept; a register reported twice
 *     for another indicium, or one sequence number signed for two reports, is a fraud alert;
 *   - challenges: a box's start question, answered with the last report held, signed with the
 *     box's own nonce; a box whose state is older than that is a restored copy: fraud alert;
 *   - checks: an indicium a verifier found validly signed, looked up among the reports: never
 *     reported, or another indicium reported for its register, is a fraud alert.
 */
import { X509Certificate, createHash, sign, verify, type KeyObject } from 'node:crypto';
import { decodeIndicium } from '../shared/indicium/codec';
import { toLowS } from '../shared/indicium/low-s';
import { verifyIndicium } from '../shared/indicium/verify';
import {
  BOX_ID_PATTERN,
  REPORT_CERT_PREFIX,
  type ChallengeRequest,
  type PostalCheckRequest,
  type PostalCheckResponse,
  type ReportBatch,
  type Signed,
  type SignedReceipt,
  type WitnessChallenge,
  type WitnessReceipt,
  type WitnessReport,
} from '../shared/postal/wire';
import type { ReceiptSigner } from './keys';
import type { BoxRow, PostalStore } from './store';

export class PostalError extends Error {
  constructor(
    readonly code: 'BAD_REQUEST' | 'UNKNOWN_VENDOR' | 'BAD_SIGNATURE' | 'NOT_VALID',
    message: string,
    readonly status = code === 'UNKNOWN_VENDOR' ? 403 : 400,
  ) {
    super(message);
    this.name = 'PostalError';
  }
}

const bad = (message: string): never => {
  throw new PostalError('BAD_REQUEST', message);
};

export function fingerprint(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

function parseSigned<T>(signed: Signed, key: KeyObject, what: string): T {
  const signature = Buffer.from(signed.signature, 'base64');
  if (
    signature.length !== 64 ||
    !verify(
      'sha256',
      Buffer.from(signed.body, 'utf8'),
      { key, dsaEncoding: 'ieee-p1363' },
      signature,
    )
  )
    throw new PostalError('BAD_SIGNATURE', `${what}: the box's signature does not verify`);
  try {
    return JSON.parse(signed.body) as T;
  } catch {
    return bad(`${what}: not JSON`);
  }
}

const isCount = (n: unknown): n is number => Number.isSafeInteger(n) && (n as number) >= 0;

function checkReport(r: WitnessReport, boxId: string): void {
  const ok =
    r.v === 1 &&
    r.kind === 'report' &&
    r.boxId === boxId &&
    isCount(r.seq) &&
    r.seq > 0 &&
    isCount(r.totalPieces) &&
    typeof r.serial === 'string' &&
    /^[A-Z0-9]{12}$/.test(r.serial) &&
    isCount(r.counter) &&
    Array.isArray(r.pieces) &&
    r.pieces.length > 0 &&
    r.pieces.every(
      (p) =>
        typeof p.pieceId === 'string' &&
        p.pieceId.length <= 64 &&
        isCount(p.ascendingCents) &&
        typeof p.digest === 'string' &&
        /^[0-9a-f]{64}$/.test(p.digest),
    );
  if (!ok) bad(`report ${String(r.seq)}: malformed`);
}

export class PostalAuthority {
  constructor(
    private readonly store: PostalStore,
    private readonly signer: ReceiptSigner,
    private readonly log: (event: string, fields: Record<string, unknown>) => void = () =>
      undefined,
  ) {}

  private alert(boxId: string | null, serial: string | null, code: string, reason: string): void {
    this.store.addAlert({
      createdAt: new Date().toISOString(),
      boxId,
      meterSerial: serial,
      code,
      reason,
    });
    this.log('postal-alert', { box: boxId, meter: serial, code, reason });
  }

  /** The box a report certificate names, if an approved vendor CA issued it. */
  private boxOf(certificatePem: string): BoxRow {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certificatePem);
    } catch {
      return bad('certificatePem: not a PEM certificate');
    }
    const now = Date.now();
    const vendor = this.store.vendors().find((v) => {
      const ca = new X509Certificate(v.certificatePem);
      return cert.checkIssued(ca) && cert.verify(ca.publicKey);
    });
    if (!vendor || Date.parse(cert.validFrom) > now || Date.parse(cert.validTo) < now)
      throw new PostalError(
        'UNKNOWN_VENDOR',
        'report certificate: not issued by a vendor CA this postal authority approved',
      );
    const cn = /(?:^|\n)CN=(.*)/.exec(cert.subject)?.[1] ?? '';
    const boxId = cn.startsWith(REPORT_CERT_PREFIX) ? cn.slice(REPORT_CERT_PREFIX.length) : '';
    if (!BOX_ID_PATTERN.test(boxId)) bad('report certificate: not a meter box report certificate');
    const known = this.store.box(boxId);
    if (known && fingerprint(known.certificatePem) !== fingerprint(certificatePem))
      throw new PostalError(
        'UNKNOWN_VENDOR',
        `report certificate: box ${boxId} reports with another certificate`,
      );
    return known ?? { boxId, certificatePem, seq: 0, totalPieces: 0 };
  }

  private receipt(box: BoxRow, nonce?: string): SignedReceipt {
    const body: WitnessReceipt = {
      v: 1,
      kind: 'receipt',
      boxId: box.boxId,
      seq: box.seq,
      totalPieces: box.totalPieces,
      ...(nonce === undefined ? {} : { nonce }),
      at: new Date().toISOString(),
    };
    const text = JSON.stringify(body);
    return {
      body: text,
      // Low-s, as every signature in this product: (r, n − s) would verify too, and meter boxes
      // take only the low-s form.
      signature: Buffer.from(
        toLowS(
          sign('sha256', Buffer.from(text, 'utf8'), {
            key: this.signer.key,
            dsaEncoding: 'ieee-p1363',
          }),
        ),
      ).toString('base64'),
      signerCertificatePem: this.signer.certificatePem,
    };
  }

  /** Takes a box's reports in sequence; answers the receipt for the last one held. */
  acceptReports(batch: ReportBatch): { receipt: SignedReceipt; nextSeq: number } {
    const key = new X509Certificate(batch.certificatePem).publicKey;
    return this.store.transaction(() => {
      const box = this.boxOf(batch.certificatePem);
      const at = new Date().toISOString();
      for (const signed of batch.reports) {
        const r = parseSigned<WitnessReport>(signed, key, 'report');
        checkReport(r, box.boxId);
        if (r.seq <= box.seq) {
          const held = this.store.report(box.boxId, r.seq);
          if (held && held.body !== signed.body)
            this.alert(
              box.boxId,
              r.serial,
              'SEQUENCE_REUSED',
              `box ${box.boxId} signed two different reports numbered ${r.seq}: it ran from a restored copy`,
            );
          continue; // a report sent again
        }
        if (r.seq > box.seq + 1) break; // a gap: the sender resends from box.seq + 1
        const pieces = r.pieces.length;
        if (r.totalPieces !== box.totalPieces + pieces)
          bad(`report ${r.seq}: totalPieces ${r.totalPieces} does not follow ${box.totalPieces}`);
        this.store.insertReport(box.boxId, r.seq, signed.body, signed.signature, at);
        for (const p of r.pieces) {
          const held = this.store.register(r.serial, p.ascendingCents);
          if (!held) {
            this.store.insertRegister(r.serial, p.ascendingCents, {
              pieceId: p.pieceId,
              digest: p.digest,
              boxId: box.boxId,
              seq: r.seq,
            });
          } else if (held.digest !== p.digest) {
            this.alert(
              box.boxId,
              r.serial,
              'REGISTER_REUSED',
              `meter ${r.serial}: ascending register ${p.ascendingCents} reported for piece ${p.pieceId} (report ${r.seq}) was already reported for piece ${held.pieceId} (report ${held.seq})`,
            );
          }
        }
        box.seq = r.seq;
        box.totalPieces = r.totalPieces;
      }
      this.store.saveBox(box, at);
      return { receipt: this.receipt(box), nextSeq: box.seq + 1 };
    });
  }

  /** A box's start question: the last report held, with the box's nonce. */
  challenge(req: ChallengeRequest): { receipt: SignedReceipt } {
    const key = new X509Certificate(req.certificatePem).publicKey;
    return this.store.transaction(() => {
      const box = this.boxOf(req.certificatePem);
      const c = parseSigned<WitnessChallenge>(req.challenge, key, 'challenge');
      if (
        c.v !== 1 ||
        c.kind !== 'challenge' ||
        c.boxId !== box.boxId ||
        typeof c.nonce !== 'string' ||
        !/^[0-9a-f]{32}$/.test(c.nonce) ||
        !isCount(c.seq) ||
        !isCount(c.totalPieces)
      )
        bad('challenge: malformed');
      if (c.seq < box.seq || c.totalPieces < box.totalPieces) {
        this.alert(
          box.boxId,
          null,
          'ROLLBACK',
          `box ${box.boxId} started with state at report ${c.seq} (${c.totalPieces} pieces), but report ${box.seq} (${box.totalPieces} pieces) was received: it runs from a restored copy`,
        );
      }
      this.store.saveBox(box, new Date().toISOString());
      return { receipt: this.receipt(box, c.nonce) };
    });
  }

  /** A verifier's question about an indicium whose signature it found good. */
  async check(req: PostalCheckRequest): Promise<PostalCheckResponse> {
    const bytes = new Uint8Array(Buffer.from(req.indicium, 'base64'));
    let valid = false;
    for (const vendor of this.store.vendors()) {
      const r = await verifyIndicium(bytes, {
        vendorCaPem: vendor.certificatePem,
        find: () => req.certificatePem,
      });
      if (r.verdict === 'valid' || r.verdict === 'demo-sample') valid = true;
    }
    if (!valid)
      throw new PostalError(
        'NOT_VALID',
        'indicium: not signed by a meter of an approved vendor; nothing to check',
      );
    const f = decodeIndicium(bytes).fields;
    const digest = createHash('sha256').update(bytes).digest('hex');
    const held = this.store.register(f.deviceId, f.ascendingCents);
    if (!held) {
      this.alert(
        null,
        f.deviceId,
        'UNREPORTED_INDICIUM',
        `meter ${f.deviceId}: piece ${f.pieceId} (ascending register ${f.ascendingCents}) was never reported to the postal authority`,
      );
      return {
        finding: 'unreported',
        reason: `meter ${f.deviceId} never reported ascending register ${f.ascendingCents}`,
      };
    }
    if (held.digest !== digest) {
      this.alert(
        held.boxId,
        f.deviceId,
        'REGISTER_REUSED',
        `meter ${f.deviceId}: piece ${f.pieceId} reuses ascending register ${f.ascendingCents} reported for piece ${held.pieceId}`,
      );
      return {
        finding: 'register-reused',
        reason: `meter ${f.deviceId} reported ascending register ${f.ascendingCents} for another piece (${held.pieceId})`,
      };
    }
    return {
      finding: 'reported',
      reason: `reported by meter ${f.deviceId} (box ${held.boxId}, report ${held.seq})`,
    };
  }
}
