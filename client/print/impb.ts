/**
 * @module print/impb
 * The Intelligent Mail package barcode (USPS Publication 199) and the Intelligent Mail barcode
 * for letters, as bars the print driver draws (part of the patent's "local print driver"). The
 * IMpb is GS1-128: AI (420) with the destination ZIP, then the Package Identification Code, whose
 * first two digits (92–95) are its own application identifier. bwip-js computes both symbols;
 * this module turns them into rectangles at a given bar width.
 */
import { createRequire } from 'node:module';
import type BwipJs from 'bwip-js/node';
import { isImbTrackingCode, isImpbTrackingNumber } from '../../shared/tracking';
import { normalizeZip } from '../../shared/zip';
import { PrintError } from './errors';

let bwip: typeof BwipJs | undefined;
function bwipjs(): typeof BwipJs {
  bwip ??= createRequire(import.meta.url)('bwip-js/node') as typeof BwipJs;
  return bwip;
}

/** One bar, in the barcode's units (modules for the IMpb, points for the IMb), from its top left. */
export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The IMpb's GS1 element string in bracketed form: "(420)ZIP(9x)…". */
export function impbElementString(destinationZip: string, tracking: string): string {
  if (!isImpbTrackingNumber(tracking)) {
    throw new PrintError(
      'PRINT_BAD_TRACKING',
      `tracking number "${tracking}": not a USPS package tracking number with a correct check digit; request the label again`,
    );
  }
  return `(420)${normalizeZip(destinationZip)}(${tracking.slice(0, 2)})${tracking.slice(2)}`;
}

/** The IMpb as bars in module units (x is the left edge; every bar is full height, 1 unit). */
export function impbBars(
  destinationZip: string,
  tracking: string,
): { bars: Bar[]; modules: number } {
  const [symbol] = bwipjs().raw({
    bcid: 'gs1-128',
    text: impbElementString(destinationZip, tracking),
  });
  if (!symbol || !('sbs' in symbol)) throw new Error('impb: bwip-js returned no bars');
  const bars: Bar[] = [];
  let x = 0;
  (symbol.sbs as number[]).forEach((w, i) => {
    if (i % 2 === 0) bars.push({ x, y: 0, width: w, height: 1 });
    x += w;
  });
  return { bars, modules: x };
}

/** IMb bar pitch (points): 65 bars over 2.9–3.2 in; bwip-js's is 22 bars an inch. */
export const IMB_HEIGHT_PT = 0.15 * 72;

/**
 * The Intelligent Mail barcode of a letter: 20-digit tracking code and the routing code (the
 * destination ZIP, 5 or 9 digits), as 65 bars in points, tops measured from the symbol's top.
 */
export function imbBars(tracking: string, destinationZip: string): { bars: Bar[]; width: number } {
  if (!isImbTrackingCode(tracking)) {
    throw new PrintError(
      'PRINT_BAD_TRACKING',
      `Intelligent Mail barcode "${tracking}": not a 20-digit tracking code; request the piece again`,
    );
  }
  const [symbol] = bwipjs().raw({ bcid: 'onecode', text: tracking + normalizeZip(destinationZip) });
  if (!symbol || !('bhs' in symbol)) throw new Error('imb: bwip-js returned no bars');
  const { sbs, bhs, bbs } = symbol as unknown as { sbs: number[]; bhs: number[]; bbs: number[] };
  const bars: Bar[] = [];
  let x = 0;
  bhs.forEach((h, i) => {
    const bottom = bbs[i] ?? 0;
    bars.push({ x, y: IMB_HEIGHT_PT - (bottom + h) * 72, width: sbs[2 * i] ?? 0, height: h * 72 });
    x += (sbs[2 * i] ?? 0) + (sbs[2 * i + 1] ?? 0);
  });
  return { bars, width: x };
}
