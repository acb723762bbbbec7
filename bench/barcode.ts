/**
 * @module bench/barcode
 * Data Matrix encoding per symbol of a 146-byte indicium: the client's encoder
 * (client/print/datamatrix.ts), bwip-js as it was used before, and `zint -b 71` in the same run.
 * Wall clock and, for the in-process encoders, CPU time (the host is shared and noisy; CPU time
 * and the ratio to zint measured beside it are steadier than milliseconds).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bwipjs from 'bwip-js/node';

const PAYLOAD_BYTES = 146;

export interface EncoderTime {
  msPerSymbol: number;
  cpuMsPerSymbol: number;
}

function timeEncoder(count: number, encode: (bytes: Uint8Array) => void): EncoderTime {
  for (let i = 0; i < 50; i++) encode(new Uint8Array(randomBytes(PAYLOAD_BYTES))); // JIT warm-up
  const inputs = Array.from({ length: count }, () => new Uint8Array(randomBytes(PAYLOAD_BYTES)));
  const cpu = process.cpuUsage();
  const start = performance.now();
  for (const bytes of inputs) encode(bytes);
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  return { msPerSymbol: ms / count, cpuMsPerSymbol: (used.user + used.system) / 1000 / count };
}

/** The client's encoder (what `vpm batch` draws with), handed in (bench/mailer-client.ts). */
export function clientEncoderTime(
  encode: (bytes: Uint8Array) => unknown,
  count: number,
): EncoderTime {
  return timeEncoder(count, (bytes) => void encode(bytes));
}

/** bwip-js with its own encodation of binary text, as the client encoded before issue 16. */
export function bwipTime(count: number): EncoderTime {
  return timeEncoder(count, (bytes) => {
    let text = '';
    for (const b of bytes) text += String.fromCharCode(b);
    bwipjs.raw({ bcid: 'datamatrix', text, binarytext: true });
  });
}

/** `zint -b 71` on the same payloads, in one batch run (no process start per symbol). */
export async function zintMsPerSymbol(count: number): Promise<number | null> {
  try {
    execFileSync('zint', ['--version'], { stdio: 'ignore' });
  } catch {
    return null;
  }
  const dir = await mkdtemp(join(tmpdir(), 'vpm-bench-zint-'));
  try {
    const lines = Array.from({ length: count }, () =>
      [...randomBytes(PAYLOAD_BYTES)].map((b) => `\\x${b.toString(16).padStart(2, '0')}`).join(''),
    );
    const input = join(dir, 'input.txt');
    await writeFile(input, lines.join('\n') + '\n');
    const args = [
      '-b',
      '71',
      '--binary',
      '--esc',
      '--batch',
      '--filetype=TXT',
      '-o',
      join(dir, '~~~~~.txt'),
    ];
    const start = performance.now();
    execFileSync('zint', [...args, '-i', input], { stdio: 'ignore' });
    return (performance.now() - start) / count;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
