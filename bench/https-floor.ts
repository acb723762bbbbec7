/**
 * @module bench/https-floor
 * What HTTPS alone costs on this machine: the same load generator (undici, the same requests in
 * flight) against a bare node:https server that does no work, so the data center's rate can be
 * read against the transport's. CPU per request of both sides is read from /proc.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Pool } from 'undici';
import { launchProcess } from '../runtime/launch';
import { createTls } from '../server-mock/communication/tls';
import { processCpuMs } from './cpu-time';

export interface HttpsFloor {
  reqPerSec: number;
  /** Load generator plus server CPU per request, ms (null where /proc is missing). */
  cpuMsPerReq: number | null;
}

export async function httpsFloor(
  dataDir: string,
  options: { inFlight: number; connections: number; measureMs: number; answerBytes: number },
): Promise<HttpsFloor> {
  // A certificate of its own like the data center's (whose key is sealed under the domain key).
  const tls = await createTls(join(dataDir, 'https-floor'));
  const child = launchProcess('https-floor-server', [
    tls.certPath,
    tls.keyPath,
    String(options.answerBytes),
  ]);
  child.end();
  child.stderr.pipe(process.stderr);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      child.stdout.once('data', (text: string) => resolve(Number(text.trim())));
      child.onExit((code) => reject(new Error(`https floor server exited (${code})`)));
    });
    const pool = new Pool(`https://localhost:${port}`, {
      connections: options.connections,
      connect: { ca: await readFile(tls.caPath, 'utf8') },
    });
    const body = JSON.stringify({
      pieces: [
        {
          idempotencyKey: 'k-00000000-0000-0000-0000-000000000000',
          postageCents: 50,
          mailClass: 'first-class',
          destinationZip: '10001',
        },
      ],
    });
    let done = 0;
    let measuring = false;
    let stop = false;
    const worker = async () => {
      while (!stop) {
        const response = await pool.request({
          path: '/v1/dispense',
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            authorization: `Bearer ${'a'.repeat(43)}`,
          },
        });
        JSON.parse(await response.body.text());
        if (measuring) done++;
      }
    };
    const workers = Array.from({ length: options.inFlight }, worker);
    await new Promise((r) => setTimeout(r, 1000)); // warm-up
    const cpu0 = [processCpuMs(process.pid), processCpuMs(child.pid as number)];
    const t0 = performance.now();
    measuring = true;
    await new Promise((r) => setTimeout(r, options.measureMs));
    measuring = false;
    const seconds = (performance.now() - t0) / 1000;
    const cpu1 = [processCpuMs(process.pid), processCpuMs(child.pid as number)];
    const n = done;
    stop = true;
    await Promise.all(workers);
    await pool.close();
    const cpu =
      cpu0.every((x) => x !== null) && cpu1.every((x) => x !== null)
        ? ((cpu1[0] as number) - (cpu0[0] as number) + (cpu1[1] as number) - (cpu0[1] as number)) /
          n
        : null;
    return { reqPerSec: n / seconds, cpuMsPerReq: cpu === null ? null : Number(cpu.toFixed(3)) };
  } finally {
    child.kill('SIGTERM');
  }
}
