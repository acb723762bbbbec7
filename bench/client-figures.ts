/**
 * @module bench/client-figures
 * The client's figures (issue 16), measured in one run beside each other: Data Matrix encoding
 * per symbol (the client's encoder, bwip-js, zint), then `vpm batch` of 1,000 and of 10,000 pieces
 * against a data center, with each batch process's peak RSS and CPU time, and the load average.
 */
import { loadavg } from 'node:os';
import { bwipTime, clientEncoderTime, zintMsPerSymbol } from './barcode';
import { batchRun, type BatchRun } from './client-batch';
import type { BenchClient } from './mailer-client';

export interface ClientFigures {
  batch1000Ms: number;
  batch10000Ms: number;
  batch1000PeakMb: number;
  batch10000PeakMb: number;
  batch1000CpuMs: number;
  batch10000CpuMs: number;
  /** The data center's CPU (with its boxes) while it charged each batch, on the same cores. */
  batch1000DataCenterCpuMs: number | null;
  batch10000DataCenterCpuMs: number | null;
  /** The client's encoder, wall clock and CPU. */
  barcodeMsPerSymbol: number;
  barcodeCpuMsPerSymbol: number;
  /** bwip-js as the client used it before (for the before/after figure). */
  bwipMsPerSymbol: number;
  zintMsPerSymbol: number | null;
  /** 1-minute load average when the batches ran (2 cores here: above 2 means others waited). */
  loadAverage: number;
}

const round = (x: number, digits = 2) => Number(x.toFixed(digits));

/** Encoders first (best of three rounds each, interleaved), then the two batches. */
export async function clientFigures(
  parts: BenchClient,
  serverUrl: string,
  caPath: string,
  options: {
    quick?: boolean;
    say?: (line: string) => void;
    dataCenterPid?: number;
    /** Writes a V8 CPU profile of each `vpm batch` process here. */
    profileDir?: string;
  } = {},
): Promise<ClientFigures> {
  const say = options.say ?? (() => undefined);
  const symbols = options.quick ? 200 : 1000;
  let encoder = clientEncoderTime(parts.dataMatrixModules, symbols);
  let zint = await zintMsPerSymbol(symbols);
  for (let round = 1; round < 3; round++) {
    const e = clientEncoderTime(parts.dataMatrixModules, symbols);
    if (e.msPerSymbol < encoder.msPerSymbol) encoder = e;
    const z = await zintMsPerSymbol(symbols);
    if (z !== null && zint !== null) zint = Math.min(zint, z);
  }
  const bwip = bwipTime(options.quick ? 100 : 300);
  say(
    `  Data Matrix, client encoder  ${encoder.msPerSymbol.toFixed(3)} ms/symbol (${encoder.cpuMsPerSymbol.toFixed(3)} CPU ms; 146 bytes)`,
  );
  say(`  Data Matrix, bwip-js         ${bwip.msPerSymbol.toFixed(3)} ms/symbol (before issue 16)`);
  say(
    `  Data Matrix, zint -b 71      ${zint === null ? 'zint not installed' : `${zint.toFixed(3)} ms/symbol; client encoder / zint = ${(encoder.msPerSymbol / zint).toFixed(2)} (goal ≤ 1.5)`}`,
  );
  const show = (b: BatchRun, goal: string) =>
    say(
      `Client: vpm batch of ${b.pieces.toLocaleString('en-US')} pieces to one PDF, process start to exit: ${b.ms.toFixed(0)} ms (${goal}), peak RSS ${b.peakRssMb.toFixed(0)} MB, CPU ${b.cpuMs.toFixed(0)} ms (data center ${b.dataCenterCpuMs?.toFixed(0) ?? '?'} ms), PDF ${(b.pdfBytes / 1e6).toFixed(1)} MB`,
    );
  const b1000 = await batchRun(
    parts,
    serverUrl,
    caPath,
    1000,
    options.dataCenterPid,
    undefined,
    options.profileDir,
  );
  show(b1000, 'goal < 1500 ms');
  const load = loadavg()[0] as number;
  const b10000 = await batchRun(
    parts,
    serverUrl,
    caPath,
    10_000,
    options.dataCenterPid,
    undefined,
    options.profileDir,
  );
  show(b10000, 'goal < 8000 ms, < 300 MB');
  say(
    `  load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (2 cores)`,
  );
  return {
    batch1000Ms: round(b1000.ms, 0),
    batch10000Ms: round(b10000.ms, 0),
    batch1000PeakMb: round(b1000.peakRssMb, 0),
    batch10000PeakMb: round(b10000.peakRssMb, 0),
    batch1000CpuMs: round(b1000.cpuMs, 0),
    batch10000CpuMs: round(b10000.cpuMs, 0),
    batch1000DataCenterCpuMs:
      b1000.dataCenterCpuMs === null ? null : round(b1000.dataCenterCpuMs, 0),
    batch10000DataCenterCpuMs:
      b10000.dataCenterCpuMs === null ? null : round(b10000.dataCenterCpuMs, 0),
    barcodeMsPerSymbol: round(encoder.msPerSymbol, 4),
    barcodeCpuMsPerSymbol: round(encoder.cpuMsPerSymbol, 4),
    bwipMsPerSymbol: round(bwip.msPerSymbol, 3),
    zintMsPerSymbol: zint === null ? null : round(zint, 3),
    loadAverage: round(load, 2),
  };
}
