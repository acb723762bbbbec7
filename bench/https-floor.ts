/**
 * @module bench/https-floor
 * What HTTPS alone costs on this machine: the same load generator as the data center's peak (the
 * client's own API client, MailerApi.dispense: one client per mailer, the same requests in flight
 * on each) against a bare node:https server that does no work, so the data center's rate can be
 * read against the transport's. CPU per request of both sides is read from /proc. Beside it, the
 * same server driven by an undici Pool (the load generator before the client moved to node:https),
 * for comparison. The server stays up so that the benchmark can measure it in slices between the
 * data center's: on a host whose speed drifts from second to second, only slices taken in turn
 * give a ratio of the two that one run can stand by. With `vpm bench --skeleton` the same driver
 * runs the design's skeleton (skeleton-server.mjs) too, whose CPU counts its box process.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Pool } from 'undici';
import { launchProcess } from '../runtime/launch';
import { createTls } from '../server-mock/communication/tls';
import { processCpuMs } from './cpu-time';
import { LOAD_CONNECTIONS } from './harness';
import type { BenchClient, MailerApi } from './mailer-client';

export interface HttpsFloor {
  reqPerSec: number;
  /** Load generator plus server CPU per request, ms (null where /proc is missing). */
  cpuMsPerReq: number | null;
  /** The same server and load driven by an undici Pool instead of the client's HTTPS. */
  undici?: { reqPerSec: number; cpuMsPerReq: number | null };
}

const REQUEST = {
  pieces: [
    {
      idempotencyKey: 'k-00000000-0000-0000-0000-000000000000',
      postageCents: 50,
      mailClass: 'first-class' as const,
      destinationZip: '10001',
    },
  ],
};
const TOKEN = 'a'.repeat(43);
const HEADERS = {
  accept: 'application/json',
  'content-type': 'application/json',
  authorization: `Bearer ${TOKEN}`,
};

/** One measured slice of load: answers, seconds, and CPU ms of both sides (null without /proc). */
export interface FloorSlice {
  requests: number;
  seconds: number;
  cpuMs: number | null;
}

/** Keeps `inFlight` requests going (`warmupMs` first), counts answers for `measureMs`. */
async function drive(
  send: (worker: number) => Promise<unknown>,
  inFlight: number,
  warmupMs: number,
  measureMs: number,
  serverPids: readonly number[],
): Promise<FloorSlice> {
  let done = 0;
  let measuring = false;
  let stop = false;
  const worker = async (_: unknown, i: number) => {
    while (!stop) {
      await send(i);
      if (measuring) done++;
    }
  };
  const workers = Array.from({ length: inFlight }, worker);
  await new Promise((r) => setTimeout(r, warmupMs));
  const pids = [process.pid, ...serverPids];
  const cpu0 = pids.map(processCpuMs);
  const t0 = performance.now();
  measuring = true;
  await new Promise((r) => setTimeout(r, measureMs));
  measuring = false;
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = pids.map(processCpuMs);
  const requests = done;
  stop = true;
  await Promise.all(workers);
  const cpuMs =
    cpu0.every((x) => x !== null) && cpu1.every((x) => x !== null)
      ? cpu1.reduce<number>((sum, ms, i) => sum + (ms as number) - (cpu0[i] as number), 0)
      : null;
  return { requests, seconds, cpuMs };
}

/** Rate and CPU per request of slices taken together. */
export function floorOf(slices: FloorSlice[]): { reqPerSec: number; cpuMsPerReq: number | null } {
  const requests = slices.reduce((n, s) => n + s.requests, 0);
  const seconds = slices.reduce((n, s) => n + s.seconds, 0);
  const cpu = slices.every((s) => s.cpuMs !== null)
    ? slices.reduce((n, s) => n + (s.cpuMs as number), 0) / requests
    : null;
  return {
    reqPerSec: requests / seconds,
    cpuMsPerReq: cpu === null ? null : Number(cpu.toFixed(3)),
  };
}

/**
 * The servers the load generator can drive beside the data center: the bare-HTTPS floor, and the
 * design's skeleton (skeleton-server.mjs: the work of a dispense without the product's framework).
 */
export type FloorKind = 'https-floor-server' | 'skeleton-server';

/** A bare HTTPS server kept running, so its load can be measured in slices between others. */
export interface FloorServer {
  /** The server's processes (the skeleton has a box process too), and the clients the slices drive (one per mailer). */
  readonly pids: readonly number[];
  readonly clients: readonly MailerApi[];
  /** The client's API client, `inFlight` requests over `connections` clients. */
  measure(inFlight: number, warmupMs: number, measureMs: number): Promise<FloorSlice>;
  /** The same load from an undici Pool. */
  measureUndici(inFlight: number, warmupMs: number, measureMs: number): Promise<FloorSlice>;
  close(): Promise<void>;
}

/** Starts the bare server and the load generator's clients (one per mailer, as at the peak). */
export async function startHttpsFloor(
  parts: BenchClient,
  dataDir: string,
  options: {
    /** Clients (mailers), each with its own connections, inFlight / clients requests each. */
    connections: number;
    answerBytes: number;
    /** The bare-HTTPS floor (default) or the design's skeleton. */
    server?: FloorKind;
  },
): Promise<FloorServer> {
  const entry = options.server ?? 'https-floor-server';
  // A certificate of its own like the data center's (whose key is sealed under the domain key).
  const tls = await createTls(join(dataDir, entry));
  const child = launchProcess(entry, [tls.certPath, tls.keyPath, String(options.answerBytes)]);
  child.end();
  child.stderr.pipe(process.stderr);
  try {
    // Its port, then the pids of its other processes.
    const [port, ...others] = await new Promise<number[]>((resolve, reject) => {
      child.stdout.setEncoding('utf8');
      child.stdout.once('data', (text: string) => resolve(text.trim().split(' ').map(Number)));
      child.onExit((code) => reject(new Error(`${entry} exited (${code})`)));
    });
    const caPem = await readFile(tls.caPath, 'utf8');
    const base = new URL(`https://localhost:${port}`);
    // As the peak's load generator: a client per mailer, the same dispense call.
    const clients: MailerApi[] = Array.from({ length: options.connections }, () =>
      parts.connect({
        serverUrl: base.origin,
        caPem,
        token: TOKEN,
        retries: 0,
        connections: LOAD_CONNECTIONS,
      }),
    );
    const pids = [child.pid as number, ...others];
    return {
      pids,
      clients,
      measure: (inFlight, warmupMs, measureMs) =>
        drive(
          (worker) => (clients[worker % clients.length] as MailerApi).dispense(REQUEST),
          inFlight,
          warmupMs,
          measureMs,
          pids,
        ),
      async measureUndici(inFlight, warmupMs, measureMs) {
        const pool = new Pool(base.origin, {
          connections: options.connections,
          connect: { ca: caPem },
        });
        try {
          return await drive(
            async () => {
              const response = await pool.request({
                path: '/v1/pieces',
                method: 'POST',
                body: JSON.stringify(REQUEST),
                headers: HEADERS,
              });
              return JSON.parse(await response.body.text()) as unknown;
            },
            inFlight,
            warmupMs,
            measureMs,
            pids,
          );
        } finally {
          await pool.close();
        }
      },
      async close() {
        await Promise.all(clients.map((c) => c.close()));
        child.kill('SIGTERM');
      },
    };
  } catch (error) {
    child.kill('SIGTERM');
    throw error;
  }
}
