/**
 * @module print/piece-plan
 * What is drawn for one piece, and where: the symbol, every text line with its font and fitted
 * size, the SAMPLE frame, in points on the page (slot and calibration offsets applied). Both
 * outputs of the local print driver draw from this one plan — the PDF (render.ts) and the HTML
 * that Chromium prints (html.ts) — so their layouts cannot drift apart. The human-readable values
 * come from the decoded indicium, never from the caller.
 */
import { decodeIndicium, type IndiciumFields } from '../../shared/indicium/codec';
import { MAX_CALIBRATION_MM } from '../../shared/atoms';
import { MAIL_CLASSES } from '../../shared/mail-class';
import { formatZip, normalizeZip } from '../../shared/zip';
import { PrintError } from './errors';
import { imbBars } from './impb';
import { planLabel } from './label';
import { layoutPiece, type Box } from './layout';
import { mm, type Medium } from './media';
import type { Address, Calibration, PrintPiece } from './render';

export const SAMPLE_TEXT = 'SAMPLE — NOT VALID POSTAGE';
export const BOLD = 'Helvetica-Bold';
export const REGULAR = 'Helvetica';
export type FontName = typeof BOLD | typeof REGULAR;

/** One text line; (x, y) is the top left of the line box, as pdfkit places text. */
export interface TextMark {
  kind: 'text';
  text: string;
  x: number;
  y: number;
  font: FontName;
  size: number;
  /** Set on the recipient's lines: the only text that differs between pieces of one batch. */
  recipient?: true;
  /** Set when the line is centred in this span (a printer with other fonts centres it there). */
  centreIn?: { x: number; width: number };
}
/** Filled rectangles (rules, bars); a barcode's bars also say what a printer could draw natively. */
export interface FillMark {
  kind: 'fill';
  boxes: Box[];
  /** The GS1-128 it draws (bracketed element string), bar width and placement, for ZPL's ^BC. */
  barcode?: { gs1: string; module: number; x: number; y: number; height: number };
}
export type Mark =
  | TextMark
  | FillMark
  | { kind: 'symbol'; box: Box }
  | { kind: 'frame'; box: Box; lineWidth: number };

export interface PiecePlan {
  /** Where the slot's origin lands on the page: the slot's place plus the calibration offsets. */
  origin: { x: number; y: number };
  /** In the slot's coordinates, in drawing order. */
  marks: Mark[];
}

/** Text widths in the fonts of the plan (Helvetica's metrics, which the HTML font shares). */
export interface TextMeasure {
  /** The font size, at most `size`, at which `text` fits `width`. */
  fit(text: string, width: number, font: FontName, size: number): number;
  width(text: string, font: FontName, size: number): number;
}

export function checkCalibration(calibration: Calibration | undefined): Calibration {
  const c = calibration ?? { xMm: 0, yMm: 0 };
  for (const value of [c.xMm, c.yMm]) {
    if (!Number.isFinite(value) || Math.abs(value) > MAX_CALIBRATION_MM) {
      throw new PrintError(
        'PRINT_BAD_CALIBRATION',
        `calibration: offsets must be numbers between -${MAX_CALIBRATION_MM} and ${MAX_CALIBRATION_MM} mm; got x=${String(c.xMm)}, y=${String(c.yMm)}`,
      );
    }
  }
  return c;
}

export function addressLines(address: Address, what: string): string[] {
  for (const key of ['name', 'street', 'city', 'state', 'zip'] as const) {
    if (!address[key]?.trim()) {
      throw new PrintError('PRINT_BAD_ADDRESS', `${what}: the ${key} is missing; fill it in`);
    }
  }
  const lines = [address.name, address.company, address.street, address.street2];
  const zip = formatZip(normalizeZip(address.zip));
  lines.push(`${address.city} ${address.state.toUpperCase()} ${zip}`);
  return lines.filter((l): l is string => Boolean(l?.trim())).map((l) => l.trim().toUpperCase());
}

/** The piece's indicium fields; refuses bytes that do not decode and a recipient in another ZIP. */
export function decodePiece(piece: PrintPiece, index: number): IndiciumFields {
  let fields: IndiciumFields;
  try {
    fields = decodeIndicium(piece.indicium).fields;
  } catch (error) {
    throw new PrintError(
      'PRINT_BAD_INDICIUM',
      `piece ${index + 1}: ${error instanceof Error ? error.message : String(error)}; request the indicium again`,
    );
  }
  const recipientZip = normalizeZip(piece.recipient.zip);
  if (recipientZip.slice(0, 5) !== fields.destinationZip.slice(0, 5)) {
    throw new PrintError(
      'PRINT_ZIP_MISMATCH',
      `piece ${index + 1}: the recipient ZIP ${formatZip(recipientZip)} differs from the indicium's destination ZIP ${formatZip(fields.destinationZip)}; correct the address or request a new indicium`,
    );
  }
  return fields;
}

/**
 * The postage amount as formatDollars writes it ("$1,234.56"), without its toLocaleString: the
 * first call of that loads the ICU locale data, some 75 ms on the batch's critical path.
 */
export function postageText(cents: number): string {
  const abs = Math.abs(cents);
  const whole = String(Math.floor(abs / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${cents < 0 ? '-' : ''}$${whole}.${String(abs % 100).padStart(2, '0')}`;
}

/** Plans one piece in slot `slotIndex` of the medium. */
export function planPiece(
  medium: Medium,
  slotIndex: number,
  fields: IndiciumFields,
  piece: PrintPiece,
  returnAddress: Address | undefined,
  calibration: Calibration,
  measure: TextMeasure,
  dpi?: number,
): PiecePlan {
  const slot = medium.slots[slotIndex];
  if (!slot) throw new Error(`render: medium ${medium.id} has no slot ${slotIndex}`);
  const origin = { x: slot.x + mm(calibration.xMm), y: slot.y + mm(calibration.yMm) };
  if (medium.kind !== 'envelope') {
    return { origin, marks: planLabel(slot, origin, fields, piece, returnAddress, measure, dpi) };
  }
  const layout = layoutPiece(medium, slot);
  const marks: Mark[] = [{ kind: 'symbol', box: layout.symbol }];
  /** A line shrunk to fit its width; returns the height it takes. */
  const line = (
    text: string,
    x: number,
    y: number,
    width: number,
    font: FontName,
    size: number,
    recipient = false,
  ) => {
    const fitted = measure.fit(text, width, font, size);
    marks.push({ kind: 'text', text, x, y, font, size: fitted, ...(recipient && { recipient }) });
    return fitted * 1.2;
  };
  const lines = (texts: string[], box: Box, font: FontName, size: number, recipient = false) => {
    let y = box.y;
    for (const text of texts) {
      if (y + size > box.y + box.height) break;
      y += line(text, box.x, y, box.width, font, size, recipient);
    }
    return y;
  };

  const hr = layout.humanReadable;
  let y = hr.y;
  y += line('US POSTAGE', hr.x, y, hr.width, BOLD, 9);
  y += line(postageText(fields.postageCents), hr.x, y, hr.width, BOLD, 15);
  y += line(MAIL_CLASSES[fields.mailClass].label, hr.x, y, hr.width, REGULAR, 7);
  y += line(`Mailed ${fields.mailingDate}`, hr.x, y, hr.width, REGULAR, 7);
  y += line(`From ZIP ${fields.originZip}`, hr.x, y, hr.width, REGULAR, 7);
  y += line(`Meter ${fields.deviceId}`, hr.x, y, hr.width, REGULAR, 7);
  if (fields.demo) line(SAMPLE_TEXT, hr.x, y, hr.width, BOLD, 7);

  const from = piece.returnAddress ?? returnAddress;
  if (from) lines(addressLines(from, 'return address'), layout.returnAddress, REGULAR, 8);
  const below = lines(
    addressLines(piece.recipient, 'recipient'),
    layout.recipient,
    REGULAR,
    11,
    true,
  );
  if (piece.imb !== undefined) {
    // The Intelligent Mail barcode below the address block's last line (DMM 708.4.4).
    const { bars } = imbBars(piece.imb, fields.destinationZip);
    const at = { x: layout.recipient.x, y: below + 4 };
    marks.push({
      kind: 'fill',
      boxes: bars.map((b) => ({ x: at.x + b.x, y: at.y + b.y, width: b.width, height: b.height })),
    });
  }

  if (fields.demo) {
    const b = layout.sampleBanner;
    marks.push({ kind: 'frame', box: b, lineWidth: 1.5 });
    const size = Math.min(14, b.height - 6);
    const w = Math.min(measure.width(SAMPLE_TEXT, BOLD, size), b.width - 8);
    line(SAMPLE_TEXT, b.x + (b.width - w) / 2, b.y + (b.height - size) / 2, w, BOLD, size);
  }
  return { origin, marks };
}
