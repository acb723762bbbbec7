/**
 * @module rates/parse
 * The command line's weights and sizes: `2lb`, `8oz`, `1lb 4oz`, `1.5lb`, a bare number is ounces;
 * sizes `12x10x6` in inches. Anything else is refused with an example.
 */
import { MAX_WEIGHT_OZ, MIN_WEIGHT_OZ } from '../../shared/atoms';

export class PieceSpecError extends Error {
  readonly code = 'BAD_PIECE';
  constructor(message: string) {
    super(message);
    this.name = 'PieceSpecError';
  }
}

/** Ounces from "2lb", "8oz", "1lb 4oz", "1.5 lb", "12" (ounces). */
export function parseWeight(text: string): number {
  const t = text.trim().toLowerCase().replace(/\s+/g, '');
  const m = /^(?:(\d+(?:\.\d+)?)(?:lbs?|pounds?))?(?:(\d+(?:\.\d+)?)(?:oz|ounces?)?)?$/.exec(t);
  const pounds = m?.[1] ? Number(m[1]) : 0;
  const ounces = m?.[2] ? Number(m[2]) : 0;
  const total = pounds * 16 + ounces;
  if (!m || t === '' || !(total >= MIN_WEIGHT_OZ) || total > MAX_WEIGHT_OZ)
    throw new PieceSpecError(
      `weight "${text}": write it like 8oz, 2lb or 1lb4oz (more than 0, at most 70 lb)`,
    );
  return Math.round(total * 1000) / 1000;
}

/** [length, width, height] in inches from "12x10x6". */
export function parseDims(text: string): [number, number, number] {
  const parts = text
    .trim()
    .toLowerCase()
    .replace(/in/g, '')
    .split(/\s*[x×*]\s*/);
  const dims = parts.map(Number);
  if (dims.length !== 3 || !dims.every((d) => Number.isFinite(d) && d > 0 && d <= 200))
    throw new PieceSpecError(
      `size "${text}": write length x width x height in inches, like 12x10x6`,
    );
  return dims as [number, number, number];
}
