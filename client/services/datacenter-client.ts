/**
 * @module services/datacenter-client
 * The mailer's side of the link to the data center's communication server (patent Fig. 1):
 * HTTPS (./https-origin.ts) with the data center's CA pinned, kept-alive connections, timeouts, and retries
 * of network failures. Only requests that are safe to repeat are retried: reads, and writes that
 * carry an idempotency key, so a retry returns the same indicium and never charges twice.
 * A data center with several API nodes is given as several URLs (comma-separated): on a
 * connection error or a 503 the client fails over to the next node with the same request body,
 * so the same idempotency keys, and any node answers it once (docs/nodes.md).
 */
import { HttpsError, HttpsOrigin, NEVER_SENT_CODES } from './https-origin';
import { API_ERRORS, isApiErrorCode } from '../../shared/api/errors';
import type { ErrorCode } from '../../shared/errors';
import type * as Api from '../../shared/api/schemas';

/** An error from the data center or the network, with a stable code and advice for the mailer. */
export class DataCenterError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly status = 0,
  ) {
    super(message);
    this.name = 'DataCenterError';
  }
}

export interface DataCenterClientOptions {
  /** The data center's URL, or its nodes' URLs separated by commas (failover in that order). */
  serverUrl: string;
  /** PEM of the data center's CA: the only CA this client trusts for it. */
  caPem: string;
  token?: string;
  timeoutMs?: number;
  retries?: number;
  /** Connections kept to each node (16 when not given); requests beyond them wait for one. */
  connections?: number;
}

/** Network failures worth another try (when the request is safe to repeat). */
const RETRYABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'CONNECT_TIMEOUT']);

/** The URLs of a data center's nodes: one, or several separated by commas. */
export function serverUrls(serverUrl: string): URL[] {
  const urls = serverUrl
    .split(',')
    .map((u) => u.trim())
    .filter((u) => u !== '');
  if (urls.length === 0) throw new DataCenterError('BAD_SERVER_URL', 'data center URL: none given');
  return urls.map((text) => {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw new DataCenterError('BAD_SERVER_URL', `data center URL ${text}: not a URL`);
    }
    if (url.protocol !== 'https:')
      throw new DataCenterError(
        'BAD_SERVER_URL',
        `data center URL ${text}: must start with https://`,
      );
    return url;
  });
}

function networkCode(error: unknown): string | undefined {
  const e = error as { code?: string; cause?: { code?: string } };
  return e?.code ?? e?.cause?.code;
}

export class DataCenterClient {
  /** One connection pool per node (no per-request URL parsing or origin lookup). */
  private readonly pools: HttpsOrigin[];
  private readonly bases: URL[];
  /** The node in use; a failover moves it on, and it stays there while that node answers. */
  private current = 0;
  token: string | undefined;

  constructor(private readonly options: DataCenterClientOptions) {
    this.bases = serverUrls(options.serverUrl);
    const timeout = options.timeoutMs ?? 30_000;
    this.pools = this.bases.map(
      (base) =>
        new HttpsOrigin(base, {
          caPem: options.caPem,
          timeoutMs: timeout,
          connections: options.connections ?? 16,
        }),
    );
    this.token = options.token;
  }

  private get base(): URL {
    return this.bases[this.current]!;
  }

  /** Moves to the next node; true if there is another to try. */
  private failover(): boolean {
    if (this.pools.length < 2) return false;
    this.current = (this.current + 1) % this.pools.length;
    return true;
  }

  private async call<T>(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    retrySafe = method === 'GET',
  ): Promise<{ status: number; data: T; text: string }> {
    const nodes = this.pools.length;
    const attempts = retrySafe ? Math.max((this.options.retries ?? 4) + 1, nodes + 1) : nodes;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await this.pools[this.current]!.request({
          path,
          method,
          headers: {
            accept: 'application/json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
            ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
        const text = response.text;
        const isJson = String(response.headers['content-type'] ?? '').includes('json');
        const data = (isJson && text ? JSON.parse(text) : undefined) as T;
        if (response.statusCode >= 400) {
          const err = (data as Api.ErrorBody | undefined)?.error;
          // Only the API's own codes (a closed set) reach the mailer; anything else is INTERNAL.
          const code: ErrorCode = err && isApiErrorCode(err.code) ? err.code : 'INTERNAL';
          if (response.statusCode === 503 && retrySafe && attempt < attempts) {
            // Another node may serve at once; back off only once every node was tried.
            if (!this.failover() || attempt >= nodes)
              await new Promise((r) => setTimeout(r, 200 * attempt));
            continue;
          }
          // Rate-limited (e.g. verifying a long batch): wait as told, if briefly, and go on.
          const retryAfter = Number(response.headers['retry-after']);
          if (
            response.statusCode === 429 &&
            retrySafe &&
            attempt < attempts &&
            retryAfter > 0 &&
            retryAfter <= 60
          ) {
            await new Promise((r) => setTimeout(r, retryAfter * 1000));
            continue;
          }
          const advice = isApiErrorCode(code) ? ` ${API_ERRORS[code].advice}` : '';
          throw new DataCenterError(
            code,
            `${err?.message ?? `data center answered ${response.statusCode}`}.${advice}`,
            response.statusCode,
          );
        }
        return { status: response.statusCode, data, text };
      } catch (error) {
        if (error instanceof DataCenterError) throw error;
        const code = networkCode(error);
        const safe = retrySafe || (code !== undefined && NEVER_SENT_CODES.has(code));
        if (code && RETRYABLE.has(code) && safe && attempt < attempts) {
          if (!this.failover() || attempt >= nodes)
            await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
          continue;
        }
        if (error instanceof HttpsError || code) {
          const tls =
            code?.startsWith('ERR_TLS') ||
            code?.includes('CERT') ||
            code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
            code === 'SELF_SIGNED_CERT_IN_CHAIN';
          throw new DataCenterError(
            tls ? 'UNTRUSTED_SERVER' : 'UNREACHABLE',
            tls
              ? `data center at ${this.base.origin}: its certificate is not signed by the pinned CA (${code}); check --ca`
              : `data center at ${this.base.origin}: cannot be reached (${code ?? 'network error'}); check that it is running and the URL is right, then try again`,
          );
        }
        throw error;
      }
    }
  }

  health() {
    return this.call<{ status: string; version: string }>('GET', '/v1/health').then((r) => r.data);
  }
  signUp(body: Api.SignUpRequest) {
    return this.call<Api.Account>('POST', '/v1/signup', body).then((r) => r.data);
  }
  async signIn(body: Api.SignInRequest): Promise<Api.SignInResponse> {
    const { data } = await this.call<Api.SignInResponse>('POST', '/v1/sessions', body);
    this.token = data.session.token;
    return data;
  }
  async signOut(): Promise<void> {
    if (!this.token) return;
    await this.call('DELETE', '/v1/sessions/current', undefined, true);
    this.token = undefined;
  }
  account() {
    return this.call<Api.Account>('GET', '/v1/account').then((r) => r.data);
  }
  settings(body: Api.SettingsRequest) {
    return this.call<Api.Account>('PUT', '/v1/account/settings', body, true).then((r) => r.data);
  }
  refill(body: Api.RefillRequest) {
    return this.call<Api.Account>('POST', '/v1/refills', body, true).then((r) => r.data);
  }
  /** Buys indicia; every piece carries its idempotency key, so the request is safe to retry. */
  dispense(body: Api.DispenseRequest) {
    return this.call<Api.DispenseResponse>('POST', '/v1/pieces', body, true).then((r) => r.data);
  }
  refund(body: Api.RefundRequest) {
    return this.call<Api.RefundResponse>('POST', '/v1/refunds', body, true).then((r) => r.data);
  }
  history(query: Api.HistoryQuery) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined) params.set(k, String(v));
    return this.call<Api.HistoryResponse>('GET', `/v1/history?${params}`).then((r) => r.data);
  }
  historyCsv() {
    return this.call<undefined>('GET', '/v1/history.csv').then((r) => r.text);
  }
  /** The rate table in force, signed by the transaction box (check it: client/rates/). */
  async rates(): Promise<Api.RatesResponse> {
    return (await this.call<Api.RatesResponse>('GET', '/v1/rates')).data;
  }
  /** Every meter certificate, page by page (the data center pages GET /v1/certificates). */
  async certificates(): Promise<Api.CertificateBundle> {
    const certificates: Record<string, string> = {};
    let vendorCaPem = '';
    let after: string | null | undefined;
    do {
      const query = new URLSearchParams({ limit: '500', ...(after ? { after } : {}) });
      const page = (await this.call<Api.CertificateBundle>('GET', `/v1/certificates?${query}`))
        .data;
      vendorCaPem = page.vendorCaPem;
      Object.assign(certificates, page.certificates);
      if (page.next && after && page.next <= after)
        throw new DataCenterError('INTERNAL', 'certificates: the data center paged backwards');
      after = page.next;
    } while (after);
    return { vendorCaPem, certificates };
  }
  verify(indicium: Uint8Array) {
    return this.call<Api.VerifyResponse>(
      'POST',
      '/v1/verify',
      { indicium: Buffer.from(indicium).toString('base64') },
      true,
    ).then((r) => r.data);
  }
  /** The post's acceptance scan (this client's token is a scanner credential): the piece is used. */
  scan(indicium: Uint8Array) {
    return this.call<Api.ScanResponse>('POST', '/v1/scans', {
      indicium: Buffer.from(indicium).toString('base64'),
    }).then((r) => r.data);
  }
  /** Closes every connection, so the process can exit at once. */
  close(): Promise<void> {
    for (const pool of this.pools) pool.close();
    return Promise.resolve();
  }
}
