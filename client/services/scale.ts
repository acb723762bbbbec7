/**
 * @module services/scale
 * A USB postal scale read through `node-hid` (HID point-of-sale usage page 0x8D, scale usage):
 * DYMO M-series, Stamps.com and other scales that send the six-byte "scale data" report —
 * report id 3, status, unit, exponent (signed), weight LSB, weight MSB. `node-hid` is an optional
 * dependency loaded on use: where it is missing, or no scale is attached, the form keeps what the
 * mailer typed. Only a stable, non-negative reading fills the weight.
 */
import { createRequire } from 'node:module';

/** HID POS usage page of scales (HID Point of Sale Usage Tables, 0x8D). */
export const SCALE_USAGE_PAGE = 0x8d;
/** Scales that present as plain HID without a usage page on some back ends. */
const KNOWN_VENDORS = new Set([0x0922 /* DYMO */, 0x1446 /* Stamps.com (Elane) */]);
const GRAMS_PER_OUNCE = 28.349523125;

export type ScaleStatus =
  | 'fault'
  | 'zero'
  | 'in-motion'
  | 'stable'
  | 'under-zero'
  | 'over-weight'
  | 'requires-calibration'
  | 'requires-rezero'
  | 'unknown';

const STATUS: Readonly<Record<number, ScaleStatus>> = {
  1: 'fault',
  2: 'zero',
  3: 'in-motion',
  4: 'stable',
  5: 'under-zero',
  6: 'over-weight',
  7: 'requires-calibration',
  8: 'requires-rezero',
};

export interface ScaleReading {
  status: ScaleStatus;
  /** The weight in ounces (negative under zero), or undefined when the scale gives none. */
  ounces?: number;
  /** What the scale sent, e.g. "12.5 oz" or "340 g". */
  shown: string;
}

export class ScaleError extends Error {
  constructor(
    readonly code: 'SCALE_NONE' | 'SCALE_UNAVAILABLE' | 'SCALE_UNSTABLE' | 'SCALE_BAD_READING',
    message: string,
  ) {
    super(message);
    this.name = 'ScaleError';
  }
}

/** Parses one scale data report (report id 3), as node-hid gives it (report id first). */
export function parseScaleReport(report: ArrayLike<number>): ScaleReading {
  if (report.length < 6 || report[0] !== 3) {
    throw new ScaleError(
      'SCALE_BAD_READING',
      `scale: not a scale data report (${Array.from(report, (b) => b.toString(16).padStart(2, '0')).join(' ')})`,
    );
  }
  const status = STATUS[report[1] ?? 0] ?? 'unknown';
  const unit = report[2] ?? 0;
  const exponent = ((report[3] ?? 0) << 24) >> 24; // signed byte
  const raw = (report[4] ?? 0) + (report[5] ?? 0) * 256;
  const magnitude = raw * 10 ** exponent;
  const value = status === 'under-zero' ? -magnitude : status === 'zero' ? 0 : magnitude;
  const digits = Math.max(0, -exponent);
  const units: Readonly<Record<number, [string, number]>> = {
    2: ['g', 1 / GRAMS_PER_OUNCE],
    3: ['kg', 1000 / GRAMS_PER_OUNCE],
    11: ['oz', 1],
    12: ['lb', 16],
  };
  const u = units[unit];
  if (!u) return { status, shown: `${value.toFixed(digits)} (unit ${unit})` };
  if (status === 'over-weight' || status === 'fault') return { status, shown: status };
  return { status, ounces: value * u[1], shown: `${value.toFixed(digits)} ${u[0]}` };
}

/** What the mailer is told for a reading that cannot fill the form; undefined when it can. */
export function readingProblem(r: ScaleReading): string | undefined {
  switch (r.status) {
    case 'stable':
    case 'zero':
      return r.ounces === undefined
        ? `scale: unknown unit (${r.shown}); set it to oz or g`
        : undefined;
    case 'in-motion':
      return 'scale: the weight is still moving; wait until it settles and read again';
    case 'under-zero':
      return `scale: reads below zero (${r.shown}); take everything off and zero (tare) it`;
    case 'over-weight':
      return 'scale: overloaded; the piece is heavier than the scale can weigh';
    case 'requires-calibration':
      return 'scale: needs calibration; follow its manual, then read again';
    case 'requires-rezero':
      return 'scale: not zeroed; empty it, press its zero button, then read again';
    case 'fault':
    case 'unknown':
      return `scale: reports a fault (${r.shown}); switch it off and on`;
    default:
      return `scale: ${String(r.status satisfies never)}`;
  }
}

/** The parts of node-hid used here. */
interface HidModule {
  devices(): Array<{
    vendorId: number;
    productId: number;
    path?: string;
    usagePage?: number;
    product?: string;
  }>;
  HID: new (path: string) => { readTimeout(ms: number): number[]; close(): void };
}

/** node-hid, or undefined where the optional dependency is not installed or cannot load. */
export function loadHid(): HidModule | undefined {
  try {
    return createRequire(import.meta.url)('node-hid') as HidModule;
  } catch {
    return undefined;
  }
}

/** The attached scales (none without node-hid). */
export function findScales(hid = loadHid()): Array<{ path: string; name: string }> {
  if (!hid) return [];
  return hid
    .devices()
    .filter((d) => d.path && (d.usagePage === SCALE_USAGE_PAGE || KNOWN_VENDORS.has(d.vendorId)))
    .map((d) => ({
      path: d.path as string,
      name: d.product ?? `scale ${d.vendorId.toString(16)}:${d.productId.toString(16)}`,
    }));
}

/**
 * Reads a settled weight in ounces from the first attached scale: reports are read until one is
 * stable (or zero), for at most `attempts` reports. Throws ScaleError when there is no scale or
 * the reading cannot be used, saying what to do.
 */
export function readScale(opts: { hid?: HidModule; attempts?: number } = {}): ScaleReading {
  const hid = opts.hid ?? loadHid();
  if (!hid) {
    throw new ScaleError(
      'SCALE_UNAVAILABLE',
      'scale: USB scale support (node-hid) is not installed on this computer; type the weight instead',
    );
  }
  const [scale] = findScales(hid);
  if (!scale)
    throw new ScaleError(
      'SCALE_NONE',
      'scale: no USB postal scale is attached; plug one in or type the weight',
    );
  const device = new hid.HID(scale.path);
  try {
    let last: ScaleReading | undefined;
    for (let i = 0; i < (opts.attempts ?? 20); i++) {
      const report = device.readTimeout(250);
      if (report.length === 0 || report[0] !== 3) continue;
      last = parseScaleReport(report);
      if (last.status !== 'in-motion') break;
    }
    if (!last)
      throw new ScaleError(
        'SCALE_BAD_READING',
        `scale: ${scale.name} sent no weight; switch it on`,
      );
    const problem = readingProblem(last);
    if (problem)
      throw new ScaleError(
        last.status === 'in-motion' ? 'SCALE_UNSTABLE' : 'SCALE_BAD_READING',
        problem,
      );
    return last;
  } finally {
    device.close();
  }
}
