/**
 * @module services/https-origin
 * HTTPS to one origin with its CA pinned, over Node's own `https` (a keep-alive agent, timeouts),
 * for the client's links to the data center and the postal authority.
 *
 * Node's `https` rather than undici: the CLI is a short-lived process, and undici's HTTP parser
 * is WebAssembly that V8 compiles on load and tiers up in the background; the process cannot
 * exit until that compile is done. Measured on `vpm balance`, undici cost about 100 ms to load
 * and 140 ms at exit, a request over Node's `https` none of either (docs/performance.md).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { Agent, request } from 'node:https';
import { createSecureContext } from 'node:tls';

export interface HttpsResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  text: string;
}

export interface HttpsRequest {
  path: string;
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  headers?: Record<string, string>;
  body?: string;
}

/** A failed request, with a code that says how far it got (see {@link NEVER_SENT_CODES}). */
export class HttpsError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'HttpsError';
  }
}

/**
 * Codes of failures where the request never reached the server, so any request may be sent
 * again: the connection was refused or not made in time.
 */
export const NEVER_SENT_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'CONNECT_TIMEOUT',
]);

/** Longest answer read (a history export is the largest; far below this). */
const MAX_BODY_BYTES = 256 * 1024 * 1024;

export class HttpsOrigin {
  private readonly agent: Agent;
  private readonly host: string;
  private readonly port: number;
  private readonly timeoutMs: number;

  constructor(
    readonly origin: URL,
    options: { caPem: string; timeoutMs: number; connections?: number },
  ) {
    this.timeoutMs = options.timeoutMs;
    if (origin.protocol !== 'https:') throw new TypeError(`${origin.href}: not an https URL`);
    this.host = origin.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = origin.port ? Number(origin.port) : 443;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets: options.connections ?? 16,
      // Idle kept-alive connections close after this (a busy one has the request's timeout).
      timeout: 30_000,
      // One TLS context for every connection, with the pinned CA as its only trust: given only
      // `ca`, Node builds a context per connection and parses the CA again, about half of what
      // opening a connection cost (the bench's load generator, which speaks for 64 mailers,
      // opened about a thousand at once after a pause and stalled for 2 s; docs/performance.md).
      secureContext: createSecureContext({ ca: options.caPem }),
      rejectUnauthorized: true,
    });
  }

  /** Sends one request and reads its whole answer as text. */
  request(req: HttpsRequest): Promise<HttpsResponse> {
    return new Promise((resolve, reject) => {
      const body = req.body === undefined ? undefined : Buffer.from(req.body);
      let connected = false;
      const outgoing = request(
        {
          agent: this.agent,
          host: this.host,
          port: this.port,
          path: req.path,
          method: req.method,
          headers: {
            ...req.headers,
            ...(body ? { 'content-length': String(body.length) } : {}),
          },
        },
        (response) => {
          const chunks: Buffer[] = [];
          let size = 0;
          response.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_BODY_BYTES) {
              outgoing.destroy(new HttpsError('BODY_TOO_LARGE', 'the answer is too large'));
              return;
            }
            chunks.push(chunk);
          });
          response.on('end', () =>
            resolve({
              statusCode: response.statusCode ?? 0,
              headers: response.headers,
              text: Buffer.concat(chunks).toString('utf8'),
            }),
          );
          response.on('error', reject);
          response.on('aborted', () =>
            reject(new HttpsError('ECONNRESET', 'the connection closed during the answer')),
          );
        },
      );
      outgoing.on('socket', (socket) => {
        if (!(socket as { connecting?: boolean }).connecting) connected = true;
        else socket.once('secureConnect', () => (connected = true));
      });
      outgoing.setTimeout(this.timeoutMs, () =>
        outgoing.destroy(
          connected
            ? new HttpsError('ETIMEDOUT', `no answer within ${this.timeoutMs} ms`)
            : new HttpsError('CONNECT_TIMEOUT', `no connection within ${this.timeoutMs} ms`),
        ),
      );
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  /** Closes every connection (kept-alive ones too), so a process can exit at once. */
  close(): void {
    this.agent.destroy();
  }
}
