/**
 * @module print/label
 * The 4 × 6 in shipping label as USPS Publication 199 lays it out (part of the patent's "local
 * print driver"), top to bottom: the service icon (the class letter in a box) beside the indicium
 * block (postage, Data Matrix), the service banner between heavy rules, the return address, the
 * SHIP TO block, and the Intelligent Mail package barcode under "USPS TRACKING #" with the
 * tracking number in groups of four below it. With a printer resolution (`dpi`), the Data
 * Matrix's modules, the symbol's origin and the barcode's bars fall on whole printer dots, so a
 * thermal printer's raster keeps every module square.
 */
import type { IndiciumFields } from '../../shared/indicium/codec';
import { MAIL_CLASSES } from '../../shared/mail-class';
import { formatTrackingNumber } from '../../shared/tracking';
import { MODULE_PT, QUIET_ZONE_MODULES, SYMBOL_MODULES } from './datamatrix';
import { PrintError } from './errors';
import { impbBars, impbElementString } from './impb';
import type { Box } from './layout';
import { inches, type Slot } from './media';
import {
  BOLD,
  REGULAR,
  SAMPLE_TEXT,
  addressLines,
  postageText,
  type FontName,
  type Mark,
  type TextMeasure,
} from './piece-plan';
import type { Address, PrintPiece } from './render';

/** Thermal printer resolutions the driver lays labels out for. */
export const THERMAL_DPIS = [203, 300] as const;
export type ThermalDpi = (typeof THERMAL_DPIS)[number];

export function checkDpi(dpi: number | undefined): ThermalDpi | undefined {
  if (dpi === undefined) return undefined;
  if (!(THERMAL_DPIS as readonly number[]).includes(dpi)) {
    throw new PrintError(
      'PRINT_BAD_DPI',
      `dpi ${String(dpi)}: thermal labels are laid out for ${THERMAL_DPIS.join(' or ')} dpi; pick the printer's resolution`,
    );
  }
  return dpi as ThermalDpi;
}

/** Service banner and icon letter of each class (Publication 199's service icons). */
const SERVICES: Readonly<Record<string, { banner: string; icon: string }>> = {
  priority: { banner: 'USPS PRIORITY MAIL', icon: 'P' },
  'priority-express': { banner: 'USPS PRIORITY MAIL EXPRESS', icon: 'E' },
  'ground-advantage': { banner: 'USPS GROUND ADVANTAGE', icon: 'G' },
  'media-mail': { banner: 'USPS MEDIA MAIL', icon: 'M' },
  'first-class': { banner: 'USPS FIRST-CLASS MAIL', icon: 'F' },
  'first-class-flat': { banner: 'USPS FIRST-CLASS MAIL', icon: 'F' },
  'marketing-mail': { banner: 'USPS MARKETING MAIL', icon: 'S' },
};

export function serviceOf(mailClass: string): { banner: string; icon: string } {
  return SERVICES[mailClass] ?? { banner: `USPS ${mailClass.toUpperCase()}`, icon: '?' };
}

/** The IMpb's nominal bar width: 1 pt (13.9 mil; Publication 199 allows 13 to 21 mil). */
const IMPB_MODULE_PT = 1;
const MARGIN = inches(0.2);
const RULE = 3;

/** Sizes on the printer's dot grid: a length rounded to whole dots, at least `min` dots. */
export interface DotGrid {
  /** Points per printer dot (72 / dpi), or undefined for no grid (vector printers). */
  dot?: number;
}

function dots(grid: DotGrid, length: number, min = 1): number {
  if (!grid.dot) return length;
  return Math.max(min, Math.round(length / grid.dot)) * grid.dot;
}

/** A position snapped so that, with the slot's origin on the page, it falls on a dot boundary. */
function snap(grid: DotGrid, pageOrigin: number, at: number): number {
  if (!grid.dot) return at;
  return Math.round((pageOrigin + at) / grid.dot) * grid.dot - pageOrigin;
}

/** Module size of the Data Matrix on this grid, in points. */
export function labelModule(dpi: number | undefined): number {
  return dots({ dot: dpi ? 72 / dpi : undefined }, MODULE_PT);
}

/** Bar width of the IMpb on this grid, in points. */
export function impbModule(dpi: number | undefined): number {
  return dots({ dot: dpi ? 72 / dpi : undefined }, IMPB_MODULE_PT, 2);
}

/**
 * Plans one Publication 199 label in a 4 × 6 slot. `origin` is where the slot lands on the page
 * (slot and calibration offsets), used to put the symbol and bars on the dot grid.
 */
export function planLabel(
  slot: Slot,
  origin: { x: number; y: number },
  fields: IndiciumFields,
  piece: PrintPiece,
  returnAddress: Address | undefined,
  measure: TextMeasure,
  dpi: number | undefined,
): Mark[] {
  const grid: DotGrid = { dot: dpi ? 72 / dpi : undefined };
  const W = slot.width;
  const marks: Mark[] = [];
  const line = (
    text: string,
    x: number,
    y: number,
    width: number,
    font: FontName,
    size: number,
  ) => {
    const fitted = measure.fit(text, width, font, size);
    marks.push({ kind: 'text', text, x, y, font, size: fitted });
    return fitted * 1.2;
  };
  const centred = (text: string, y: number, font: FontName, size: number) => {
    const fitted = measure.fit(text, W - 2 * MARGIN, font, size);
    const w = measure.width(text, font, fitted);
    const centreIn = { x: MARGIN, width: W - 2 * MARGIN };
    marks.push({ kind: 'text', text, x: (W - w) / 2, y, font, size: fitted, centreIn });
    return fitted * 1.2;
  };
  const rule = (y: number, height = RULE) => {
    marks.push({ kind: 'fill', boxes: [{ x: MARGIN, y, width: W - 2 * MARGIN, height }] });
  };
  const service = serviceOf(fields.mailClass);

  // Top: service icon (left), indicium block (right).
  const top = MARGIN;
  const icon: Box = { x: MARGIN, y: top, width: inches(0.8), height: inches(0.8) };
  marks.push({ kind: 'frame', box: icon, lineWidth: 3 });
  const iconSize = 44;
  const iconW = measure.width(service.icon, BOLD, iconSize);
  marks.push({
    kind: 'text',
    text: service.icon,
    x: icon.x + (icon.width - iconW) / 2,
    y: icon.y + (icon.height - iconSize * 0.72) / 2 - iconSize * 0.18,
    font: BOLD,
    size: iconSize,
  });
  const module = labelModule(dpi);
  const symbolSize = SYMBOL_MODULES * module;
  const symbol: Box = {
    x: snap(grid, origin.x, W - MARGIN - symbolSize),
    y: snap(grid, origin.y, top),
    width: symbolSize,
    height: symbolSize,
  };
  marks.push({ kind: 'symbol', box: symbol });
  const hrX = icon.x + icon.width + 10;
  const hrW = symbol.x - QUIET_ZONE_MODULES * module - hrX;
  let y = top;
  y += line('US POSTAGE', hrX, y, hrW, BOLD, 9);
  y += line(postageText(fields.postageCents), hrX, y, hrW, BOLD, 15);
  y += line(MAIL_CLASSES[fields.mailClass].label, hrX, y, hrW, REGULAR, 7);
  y += line(`Mailed ${fields.mailingDate}`, hrX, y, hrW, REGULAR, 7);
  y += line(`From ZIP ${fields.originZip}`, hrX, y, hrW, REGULAR, 7);
  y += line(`Meter ${fields.deviceId}`, hrX, y, hrW, REGULAR, 7);
  if (fields.demo) line(SAMPLE_TEXT, hrX, y, hrW, BOLD, 7);

  // Service banner between heavy rules.
  y = Math.max(icon.y + icon.height, symbol.y + symbolSize) + 6;
  rule(y);
  y += RULE + 4;
  y += centred(service.banner, y, BOLD, 18);
  rule(y);
  y += RULE + 6;

  // Return address (upper left), then SHIP TO.
  const from = piece.returnAddress ?? returnAddress;
  if (from) {
    for (const text of addressLines(from, 'return address').slice(0, 5)) {
      y += line(text, MARGIN, y, W / 2 + 40, REGULAR, 8);
    }
  }
  y = Math.max(y + 8, inches(2.55));
  marks.push({ kind: 'text', text: 'SHIP TO:', x: MARGIN, y, font: BOLD, size: 9 });
  const toX = MARGIN + inches(0.7);
  for (const text of addressLines(piece.recipient, 'recipient').slice(0, 5)) {
    y += line(text, toX, y, W - MARGIN - toX, REGULAR, 12);
  }

  // The IMpb block, anchored above the bottom (and the SAMPLE banner).
  const sampleTop = slot.height - MARGIN - 22;
  let b = fields.demo ? sampleTop - 8 : slot.height - MARGIN;
  if (piece.tracking !== undefined) {
    b -= RULE;
    rule(b);
    b -= 14;
    centred(formatTrackingNumber(piece.tracking), b, BOLD, 11);
    const bar = impbModule(dpi);
    const height = dots(grid, inches(0.85));
    const { bars, modules } = impbBars(fields.destinationZip, piece.tracking);
    const left = snap(grid, origin.x, (W - modules * bar) / 2);
    const barTop = snap(grid, origin.y, b - 3 - height);
    marks.push({
      kind: 'fill',
      boxes: bars.map((r) => ({ x: left + r.x * bar, y: barTop, width: r.width * bar, height })),
      barcode: {
        gs1: impbElementString(fields.destinationZip, piece.tracking),
        module: bar,
        x: left,
        y: barTop,
        height,
      },
    });
    b = barTop - 16;
    centred('USPS TRACKING #', b, BOLD, 12);
    rule(b - 4 - RULE);
  }
  if (fields.demo) {
    const box: Box = { x: MARGIN, y: sampleTop, width: W - 2 * MARGIN, height: 22 };
    marks.push({ kind: 'frame', box, lineWidth: 1.5 });
    centred(SAMPLE_TEXT, box.y + 4, BOLD, 14);
  }
  return marks;
}
