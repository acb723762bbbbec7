/**
 * Tests of the USB postal scale reader (client/services/scale.ts) on recorded scale data reports
 * (report id 3, status, unit, exponent, weight LSB, MSB) as DYMO M-series and Stamps.com scales
 * send them: stable ounces and grams, zero, in motion, under zero (tare), overload, calibration
 * and re-zero requests; and readScale against a device that replays such reports.
 */
import { describe, expect, it } from 'vitest';
import {
  findScales,
  loadHid,
  parseScaleReport,
  readScale,
  readingProblem,
} from '../../client/services/scale';

describe('parseScaleReport()', () => {
  it('reads a stable weight in tenths of an ounce (exponent −1)', () => {
    const r = parseScaleReport([0x03, 0x04, 0x0b, 0xff, 0x7d, 0x00]);
    expect(r).toEqual({ status: 'stable', ounces: 12.5, shown: '12.5 oz' });
    expect(readingProblem(r)).toBeUndefined();
  });

  it('reads a stable weight in grams, LSB then MSB, as ounces', () => {
    const r = parseScaleReport([0x03, 0x04, 0x02, 0x00, 0x54, 0x01]);
    expect(r.shown).toBe('340 g');
    expect(r.ounces).toBeCloseTo(340 / 28.349523125, 9);
  });

  it('reads zero as 0 oz, whatever bytes follow', () => {
    expect(parseScaleReport([0x03, 0x02, 0x0b, 0xff, 0x00, 0x00]).ounces).toBe(0);
  });

  it('refuses to use a weight still moving, under zero (tare), overloaded, or needing calibration or zero', () => {
    const cases: Array<[number[], RegExp]> = [
      [[0x03, 0x03, 0x02, 0x00, 0x0a, 0x00], /still moving/],
      [[0x03, 0x05, 0x02, 0x00, 0x19, 0x00], /below zero \(-25 g\).*tare/],
      [[0x03, 0x06, 0x02, 0x00, 0x00, 0x00], /overloaded/],
      [[0x03, 0x07, 0x0b, 0xff, 0x00, 0x00], /calibration/],
      [[0x03, 0x08, 0x0b, 0xff, 0x00, 0x00], /not zeroed/],
      [[0x03, 0x01, 0x0b, 0xff, 0x00, 0x00], /fault/],
    ];
    for (const [bytes, message] of cases) {
      expect(readingProblem(parseScaleReport(bytes)), bytes.join(',')).toMatch(message);
    }
    expect(parseScaleReport([0x03, 0x05, 0x02, 0x00, 0x19, 0x00]).ounces).toBeLessThan(0);
  });

  it('refuses a report that is not scale data', () => {
    expect(() => parseScaleReport([0x04, 0x04, 0x0b, 0xff, 1, 0])).toThrow(
      /not a scale data report/,
    );
    expect(() => parseScaleReport([0x03, 0x04])).toThrow(/not a scale data report/);
  });
});

describe('readScale()', () => {
  /** A HID back end with one scale that sends these reports, then nothing. */
  const replay = (reports: number[][], usagePage = 0x8d) => {
    const closed: string[] = [];
    return {
      closed,
      hid: {
        devices: () => [
          { vendorId: 0x1234, productId: 1, path: '/dev/hidraw9', usagePage, product: 'Scale' },
        ],
        HID: class {
          constructor(readonly path: string) {}
          readTimeout(): number[] {
            return reports.shift() ?? [];
          }
          close(): void {
            closed.push(this.path);
          }
        },
      },
    };
  };

  it('waits through readings in motion and returns the settled weight, closing the device', () => {
    const { hid, closed } = replay([
      [0x03, 0x03, 0x0b, 0xff, 0x10, 0x00],
      [0x03, 0x03, 0x0b, 0xff, 0x20, 0x00],
      [0x03, 0x04, 0x0b, 0xff, 0x24, 0x00],
    ]);
    expect(readScale({ hid }).ounces).toBeCloseTo(3.6, 9);
    expect(closed).toEqual(['/dev/hidraw9']);
  });

  it('says what to do when the reading cannot be used, and closes the device', () => {
    const { hid, closed } = replay([[0x03, 0x05, 0x0b, 0xff, 0x05, 0x00]]);
    expect(() => readScale({ hid })).toThrow(
      expect.objectContaining({ code: 'SCALE_BAD_READING' }),
    );
    expect(closed).toHaveLength(1);
    const moving = replay([[0x03, 0x03, 0x0b, 0xff, 0x05, 0x00]]);
    expect(() => readScale({ hid: moving.hid, attempts: 3 })).toThrow(
      expect.objectContaining({ code: 'SCALE_UNSTABLE' }),
    );
  });

  it('finds no scale among other HID devices, and says so', () => {
    const { hid } = replay([], 0x01);
    expect(findScales(hid)).toEqual([]);
    expect(() => readScale({ hid })).toThrow(expect.objectContaining({ code: 'SCALE_NONE' }));
  });

  it('loads the real node-hid where it is installed, and enumerates through it', () => {
    const hid = loadHid();
    // node-hid is an optional dependency: installed here, so it must load and enumerate.
    expect(hid).toBeDefined();
    expect(() => findScales(hid)).not.toThrow();
  });
});
