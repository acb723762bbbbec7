/**
 * @module postal/wire
 * What the meter box and the postal authority say to each other (DESIGN.md, "The postal
 * authority is the outside witness"; the patent has the data center report to the post). Every
 * message is a JSON text signed as it stands (ECDSA P-256 / SHA-256, r||s, base64): the box signs
 * reports and start challenges with its report key (certified by the vendor CA), the postal
 * authority signs receipts with its receipt key (certified by its own CA). The data center only
 * carries them.
 */

/** One dispensed indicium as the postal authority records it. */
export interface ReportedPiece {
  pieceId: string;
  ascendingCents: number;
  /** SHA-256 of the indicium bytes, hex. */
  digest: string;
}

/** One dispense command of a meter box: its pieces, with the box's running sequence. */
export interface WitnessReport {
  v: 1;
  kind: 'report';
  boxId: string;
  /** 1, 2, 3 … for every report this box signed. */
  seq: number;
  /** Pieces reported by this box so far, this report's included. */
  totalPieces: number;
  serial: string;
  /** The meter record's counter after the command. */
  counter: number;
  pieces: ReportedPiece[];
}

/** A box's question at start: "what is the last report you have from me?" */
export interface WitnessChallenge {
  v: 1;
  kind: 'challenge';
  boxId: string;
  nonce: string;
  seq: number;
  totalPieces: number;
}

/** The postal authority's answer: the last report it holds from a box, in sequence. */
export interface WitnessReceipt {
  v: 1;
  kind: 'receipt';
  boxId: string;
  seq: number;
  totalPieces: number;
  /** Present when the receipt answers a challenge: the box's own nonce. */
  nonce?: string;
  at: string;
}

/** A signed message: the exact JSON text and its signature. */
export interface Signed {
  body: string;
  signature: string;
}

/** A receipt with the certificate of the postal key that signed it. */
export interface SignedReceipt extends Signed {
  signerCertificatePem: string;
}

/** The reports of one box, as the data center sends them. */
export interface ReportBatch {
  certificatePem: string;
  reports: Signed[];
}

export interface ChallengeRequest {
  certificatePem: string;
  challenge: Signed;
}

/** What the postal authority says about one indicium it is asked about. */
export type PostalFinding = 'reported' | 'unreported' | 'register-reused';

export interface PostalCheckRequest {
  /** Base64 of the indicium bytes. */
  indicium: string;
  /** The meter certificate (PEM) the indicium's signature was checked against. */
  certificatePem: string;
}

export interface PostalCheckResponse {
  finding: PostalFinding;
  reason: string;
}

/** The box id a report certificate names: its subject is `CN=VPM meter box <id>`. */
export const REPORT_CERT_PREFIX = 'VPM meter box ';
export const BOX_ID_PATTERN = /^[0-9a-f]{16}$/;
