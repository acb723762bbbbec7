/**
 * @module boxes/witness
 * The meter box's side of the postal authority as outside witness (DESIGN.md; the patent has the
 * data center report to the post; rollback protection through an outside counter as in ROTE and
 * Nimble). The box signs one report per dispense command with its report key, numbered 1, 2, 3 …
 * in its NVM, and takes the postal authority's signed receipts, verified against the postal CA it
 * pinned in its NVM on first use. It dispenses nothing
 *   - after a start until a receipt answers its own fresh nonce (an old receipt cannot stand in),
 *   - when that receipt shows later reports than the box's NVM holds (a restored copy of DIR:
 *     database and boxes together) — for as long as it runs,
 *   - more than a window of pieces (or minutes) ahead of its last receipt.
 * A box that was never pinned (no --postal) reports nothing: rollback protection is off.
 * NVM key "w:state" → WitnessState.
 */
import { X509Certificate, createPublicKey, type KeyObject } from 'node:crypto';
import {
  BOX_ID_PATTERN,
  type ReportedPiece,
  type Signed,
  type WitnessChallenge,
  type WitnessReceipt,
  type WitnessReport,
} from '../../shared/postal/wire';
import { BoxError, type IssuedIndicium, type WitnessStatus } from './api';
import { command, type BoxContext, type Command } from './box-program';
import { ecdsaSign, ecdsaVerify, privateKeyFromPkcs8, randomBytes, sha256 } from './crypto-kit';
import * as v from './validate';

/** The widest window a data center may ask for: 1,000 pieces or 5 minutes past the last receipt. */
export const WITNESS_MAX_PIECES = 1000;
export const WITNESS_MAX_MS = 5 * 60_000;

interface WitnessState {
  /** Reports signed so far, and the pieces in them. */
  seq: number;
  totalPieces: number;
  /** The last receipt's sequence and pieces. */
  receiptSeq: number;
  receiptPieces: number;
  /** The postal CA this box reports to, pinned on first use. */
  postalCaPem?: string;
  /** Unreceipted report sequence → meter serial. */
  open: Record<string, string>;
}

const STATE_KEY = 'w:state';
const PEM_MAX = 8192;

function fail(
  code: 'WITNESS_UNAVAILABLE' | 'WITNESS_ROLLBACK' | 'WITNESS_MISMATCH' | 'BAD_REQUEST',
  message: string,
  details?: Record<string, unknown>,
): never {
  throw new BoxError(code, message, 'meter', details);
}

/** A PEM text: base64 lines between BEGIN/END lines, nothing else. */
function pemText(value: unknown, what: string): string {
  if (
    typeof value !== 'string' ||
    value.length > PEM_MAX ||
    !/^(-----BEGIN [A-Z ]+-----\r?\n[A-Za-z0-9+/=\r\n]+-----END [A-Z ]+-----\s*)+$/.test(value)
  )
    v.bad(`${what}: must be a PEM certificate`);
  return value as string;
}

function certificate(pem: string, what: string): X509Certificate {
  try {
    return new X509Certificate(pem);
  } catch {
    return v.bad(`${what}: not a PEM certificate`);
  }
}

export interface Witness {
  commands: Record<string, Command<never, unknown>>;
  /** Refuses a dispense of `pieces` the witness does not allow now. */
  gate(pieces: number): void;
  /** Signs and stages the report of a dispense; undefined when the box reports to no one. */
  report(serial: string, counter: number, indicia: IssuedIndicium[]): Signed | undefined;
  zeroize(): void;
}

export function createWitness(ctx: BoxContext): Witness {
  const boxId = ctx.nvm.publicData.boxId ?? '';
  const certificatePem = ctx.nvm.publicData.reportCertificatePem ?? '';
  const pkcs8 = ctx.nvm.keys.reportKey;
  let reportKey: KeyObject | undefined =
    pkcs8 && BOX_ID_PATTERN.test(boxId) && certificatePem ? privateKeyFromPkcs8(pkcs8) : undefined;
  pkcs8?.fill(0);
  if (reportKey) {
    // The certificate must certify this key: a swapped certificate would make reports nobody can check.
    const ok = createPublicKey(reportKey)
      .export({ format: 'der', type: 'spki' })
      .equals(
        new X509Certificate(certificatePem).publicKey.export({ format: 'der', type: 'spki' }),
      );
    if (!ok) reportKey = undefined;
  }

  // In memory only: a restarted box must be confirmed again.
  let nonce: string | undefined;
  let confirmed = false;
  let rolledBack = false;
  let lastReceiptMs = 0;
  let windowPieces = WITNESS_MAX_PIECES;
  let windowMs = WITNESS_MAX_MS;

  const state = (): WitnessState =>
    ctx.nvm.get<WitnessState>(STATE_KEY) ?? {
      seq: 0,
      totalPieces: 0,
      receiptSeq: 0,
      receiptPieces: 0,
      open: {},
    };
  const sign = (body: object): Signed => {
    if (!reportKey) return fail('WITNESS_UNAVAILABLE', 'meter box: report key zeroized');
    const text = JSON.stringify(body);
    return {
      body: text,
      signature: ecdsaSign(reportKey, Buffer.from(text, 'utf8')).toString('base64'),
    };
  };
  const status = (s: WitnessState = state()): WitnessStatus => ({
    boxId,
    state: !s.postalCaPem
      ? 'off'
      : rolledBack
        ? 'rolled-back'
        : confirmed
          ? 'confirmed'
          : 'unconfirmed',
    seq: s.seq,
    receiptSeq: s.receiptSeq,
    ahead: s.totalPieces - s.receiptPieces,
    open: s.open,
  });

  const witnessChallenge = command({
    check(args: unknown) {
      const a = v.object(args, 'witnessChallenge');
      v.exactKeys(a, 'witnessChallenge', ['postalCaPem'], ['windowPieces', 'windowMs']);
      const postalCaPem = pemText(a.postalCaPem, 'postalCaPem');
      if (!certificate(postalCaPem, 'postalCaPem').ca) v.bad('postalCaPem: not a CA certificate');
      return {
        postalCaPem,
        windowPieces:
          a.windowPieces === undefined
            ? WITNESS_MAX_PIECES
            : v.integer(a.windowPieces, 'windowPieces', 1, WITNESS_MAX_PIECES),
        windowMs:
          a.windowMs === undefined
            ? WITNESS_MAX_MS
            : v.integer(a.windowMs, 'windowMs', 1000, WITNESS_MAX_MS),
      };
    },
    work(a: { postalCaPem: string; windowPieces: number; windowMs: number }) {
      if (!reportKey)
        fail(
          'WITNESS_UNAVAILABLE',
          'meter box: it has no report key (a data directory made before the postal authority existed); initialise a new data center',
        );
      const s = state();
      const pinned = s.postalCaPem;
      if (pinned && !sameCertificate(pinned, a.postalCaPem))
        fail(
          'WITNESS_MISMATCH',
          'meter box: it reports to another postal authority (the CA pinned at its first use); start the data center with that postal authority',
        );
      if (!pinned) {
        ctx.nvm.stage(STATE_KEY, { ...s, postalCaPem: a.postalCaPem });
        ctx.log('pinned the postal authority CA (first use)');
      }
      windowPieces = a.windowPieces;
      windowMs = a.windowMs;
      nonce = randomBytes(16).toString('hex');
      const challenge: WitnessChallenge = {
        v: 1,
        kind: 'challenge',
        boxId,
        nonce,
        seq: s.seq,
        totalPieces: s.totalPieces,
      };
      return { challenge: sign(challenge), certificatePem };
    },
  });

  const witnessReceipt = command({
    check(args: unknown) {
      const a = v.object(args, 'witnessReceipt');
      v.exactKeys(a, 'witnessReceipt', ['receipt']);
      const r = v.object(a.receipt, 'receipt');
      v.exactKeys(r, 'receipt', ['body', 'signature', 'signerCertificatePem']);
      return {
        body: v.text(r.body, 'receipt.body', 4096),
        signature: v.base64(r.signature, 'receipt.signature', 100, 64),
        signerCertificatePem: pemText(r.signerCertificatePem, 'receipt.signerCertificatePem'),
      };
    },
    work(r: { body: string; signature: Uint8Array; signerCertificatePem: string }): WitnessStatus {
      const s = state();
      if (!s.postalCaPem)
        fail('WITNESS_MISMATCH', 'meter box: no postal authority pinned; send the challenge first');
      const receipt = verifyReceipt(s.postalCaPem, r, ctx.now());
      if (receipt.boxId !== boxId)
        fail('WITNESS_MISMATCH', `receipt: for box ${receipt.boxId}, not this box ${boxId}`);
      if (receipt.nonce !== undefined) {
        if (receipt.nonce !== nonce)
          fail('WITNESS_MISMATCH', 'receipt: its nonce is not the one this box asked with');
        nonce = undefined;
      }
      if (receipt.seq > s.seq || receipt.totalPieces > s.totalPieces) {
        // The post holds reports this box does not remember: its NVM is an older copy.
        rolledBack = true;
        confirmed = false;
        ctx.log(
          `ROLLBACK: the postal authority holds report ${receipt.seq} but this box's state ends at ${s.seq}; it runs from a restored copy and dispenses nothing`,
        );
        return status(s);
      }
      if (receipt.nonce !== undefined) {
        confirmed = !rolledBack;
        lastReceiptMs = ctx.now().getTime();
      }
      if (receipt.seq > s.receiptSeq) {
        lastReceiptMs = ctx.now().getTime();
        const open = Object.fromEntries(
          Object.entries(s.open).filter(([seq]) => Number(seq) > receipt.seq),
        );
        const next = {
          ...s,
          receiptSeq: receipt.seq,
          receiptPieces: receipt.totalPieces,
          open,
        };
        ctx.nvm.stage(STATE_KEY, next);
        return status(next);
      }
      return status(s);
    },
  });

  const witnessStatus = command({
    check(args: unknown) {
      if (args !== undefined && args !== null)
        v.exactKeys(v.object(args, 'witnessStatus'), 'witnessStatus', []);
      return null;
    },
    work: () => status(),
  });

  return {
    commands: { witnessChallenge, witnessReceipt, witnessStatus },
    gate(pieces: number) {
      const s = state();
      if (!s.postalCaPem) return;
      if (rolledBack)
        fail(
          'WITNESS_ROLLBACK',
          `meter box: the postal authority holds later reports than this box (state at report ${s.seq}): it runs from a restored copy and dispenses nothing`,
        );
      if (!confirmed)
        fail(
          'WITNESS_UNAVAILABLE',
          'meter box: the postal authority has not confirmed its state since it started; try again once the postal authority answers',
        );
      const ahead = s.totalPieces - s.receiptPieces;
      if (ahead + pieces > windowPieces)
        fail(
          'WITNESS_UNAVAILABLE',
          `meter box: ${ahead} pieces are not yet receipted by the postal authority (window ${windowPieces}); try again once it answers`,
          { ahead, windowPieces },
        );
      if (s.seq > s.receiptSeq && ctx.now().getTime() - lastReceiptMs > windowMs)
        fail(
          'WITNESS_UNAVAILABLE',
          `meter box: no postal receipt for ${Math.round((ctx.now().getTime() - lastReceiptMs) / 1000)} s with reports outstanding; try again once the postal authority answers`,
        );
    },
    report(serial, counter, indicia) {
      const s = state();
      if (!s.postalCaPem) return undefined;
      const pieces: ReportedPiece[] = indicia.map((i) => ({
        pieceId: i.pieceId,
        ascendingCents: i.ascendingCents,
        digest: sha256(Buffer.from(i.indicium, 'base64')).toString('hex'),
      }));
      const report: WitnessReport = {
        v: 1,
        kind: 'report',
        boxId,
        seq: s.seq + 1,
        totalPieces: s.totalPieces + pieces.length,
        serial,
        counter,
        pieces,
      };
      const signed = sign(report);
      ctx.nvm.stage(STATE_KEY, {
        ...s,
        seq: report.seq,
        totalPieces: report.totalPieces,
        open: { ...s.open, [String(report.seq)]: serial },
      });
      return signed;
    },
    zeroize() {
      reportKey = undefined;
      confirmed = false;
    },
  };
}

function sameCertificate(a: string, b: string): boolean {
  try {
    return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
  } catch {
    return false;
  }
}

/** A receipt signed by a key the pinned postal CA certified, valid now. */
function verifyReceipt(
  postalCaPem: string,
  r: { body: string; signature: Uint8Array; signerCertificatePem: string },
  now: Date,
): WitnessReceipt {
  const ca = new X509Certificate(postalCaPem);
  const signer = certificate(r.signerCertificatePem, 'receipt.signerCertificatePem');
  const t = now.getTime();
  if (
    !signer.checkIssued(ca) ||
    !signer.verify(ca.publicKey) ||
    Date.parse(signer.validFrom) > t ||
    Date.parse(signer.validTo) < t
  )
    fail('WITNESS_MISMATCH', 'receipt: not signed by a key of the pinned postal authority');
  if (!ecdsaVerify(signer.publicKey, Buffer.from(r.body, 'utf8'), r.signature))
    fail('WITNESS_MISMATCH', 'receipt: signature does not verify');
  let parsed: unknown;
  try {
    parsed = JSON.parse(r.body);
  } catch {
    return v.bad('receipt.body: not JSON');
  }
  const b = v.object(parsed, 'receipt.body');
  v.exactKeys(b, 'receipt.body', ['v', 'kind', 'boxId', 'seq', 'totalPieces', 'at'], ['nonce']);
  if (b.v !== 1 || b.kind !== 'receipt') v.bad('receipt.body: not a version 1 receipt');
  return {
    v: 1,
    kind: 'receipt',
    boxId: v.text(b.boxId, 'receipt.boxId', 16, BOX_ID_PATTERN),
    seq: v.integer(b.seq, 'receipt.seq', 0, Number.MAX_SAFE_INTEGER),
    totalPieces: v.integer(b.totalPieces, 'receipt.totalPieces', 0, Number.MAX_SAFE_INTEGER),
    at: v.text(b.at, 'receipt.at', 40),
    ...(b.nonce === undefined ? {} : { nonce: v.text(b.nonce, 'receipt.nonce', 64) }),
  };
}
