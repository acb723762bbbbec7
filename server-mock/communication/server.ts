/**
 * @module communication/server
 * The communication server (patent part 32): HTTPS only, JSON, fastify. Every request is
 * validated at the edge against the schemas in shared/api (the client types its calls from the
 * same ones); every error leaves as `{ "error": { "code", "message" } }` with no internals,
 * including the ones Node's HTTP parser answers by itself (431, 400). TLS offers AEAD suites
 * only; every answer carries HSTS and nosniff, and the ones with tokens or account data
 * `Cache-Control: no-store`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import swagger from '@fastify/swagger';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Value } from '@sinclair/typebox/value';
import { Type, type TSchema } from '@sinclair/typebox';
import * as S from '../../shared/api/schemas';
import { ApiError } from '../function/api-error';
import type { Caller, DataCenter } from '../function/data-center';

export interface ServerOptions {
  tls: { key: string; cert: string };
  version: string;
  /** Each box's state: 'up' while its process runs, else 'down'. */
  boxStatus: () => Record<string, string>;
  /** Sign-on and sign-up attempts per minute per address. */
  authRateLimit?: number;
  /** Verifications (and certificate pages) per minute per address. */
  verifyRateLimit?: number;
  log?: (event: string, fields: Record<string, unknown>) => void;
  /** The rate table in force, signed by the transaction box (function/rate-tables.ts). */
  rates?: () => Promise<S.RatesResponse>;
}

const BODY_LIMIT = 512 * 1024;

/**
 * TLS 1.2 suites offered: ECDHE with an AEAD cipher only (the server key is ECDSA P-256; the RSA
 * names serve a deployment with an RSA certificate). TLS 1.3 suites are all AEAD.
 */
export const TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** Public documents a cache may keep; every other answer may carry tokens or account data. */
const CACHEABLE = /^\/v1\/(certificates|health|openapi\.json|rates)(\/|\?|$)/;

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  408: 'Request Timeout',
  413: 'Payload Too Large',
  431: 'Request Header Fields Too Large',
};

/** An answer for a request Node's parser refused before fastify saw it, in the error shape. */
export function clientErrorResponse(error: { code?: string }): string {
  const [status, code, message] =
    error.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'HEADERS_TOO_LARGE', 'request headers: larger than the server accepts']
      : error.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'BAD_REQUEST', 'request: not received in time']
        : [400, 'BAD_REQUEST', 'request: not valid HTTP'];
  const body = JSON.stringify({ error: { code, message } });
  return (
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\n` +
    'content-type: application/json; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'strict-transport-security: max-age=31536000\r\n' +
    'x-content-type-options: nosniff\r\n' +
    'cache-control: no-store\r\n' +
    'connection: close\r\n\r\n' +
    body
  );
}
const errorSchema = {
  400: S.ErrorBody,
  401: S.ErrorBody,
  402: S.ErrorBody,
  403: S.ErrorBody,
  404: S.ErrorBody,
  409: S.ErrorBody,
  423: S.ErrorBody,
  429: S.ErrorBody,
};

function send(reply: FastifyReply, error: ApiError): FastifyReply {
  if (error.retryAfterSeconds !== undefined)
    reply.header('retry-after', String(error.retryAfterSeconds));
  return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
}

function bearer(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer ([A-Za-z0-9_-]{20,200})$/.exec(header);
  return match?.[1];
}

export async function buildServer(
  dc: DataCenter,
  options: ServerOptions,
): Promise<FastifyInstance> {
  const app = Fastify({
    https: {
      key: options.tls.key,
      cert: options.tls.cert,
      minVersion: 'TLSv1.2',
      ciphers: TLS12_CIPHERS,
      honorCipherOrder: true,
    },
    bodyLimit: BODY_LIMIT,
    logger: false,
    return503OnClosing: true,
    clientErrorHandler: (error, socket) => {
      if (socket.writable) socket.end(clientErrorResponse(error as { code?: string }));
      else socket.destroy();
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // A callback hook, not an async one: no promise and no extra turn per answer.
  app.addHook('onSend', (request, reply, payload, done) => {
    reply.header('strict-transport-security', 'max-age=31536000');
    reply.header('x-content-type-options', 'nosniff');
    if (!CACHEABLE.test(request.url)) reply.header('cache-control', 'no-store');
    done(null, payload);
  });

  // Validation with TypeBox: bodies are never coerced (a string is not a number); query strings
  // are converted from text first.
  app.setValidatorCompiler(({ schema, httpPart }) => {
    const check = TypeCompiler.Compile(schema as TSchema);
    return (data: unknown) => {
      const value =
        httpPart === 'querystring'
          ? Value.Default(schema as TSchema, Value.Convert(schema as TSchema, data))
          : data;
      if (check.Check(value)) return { value };
      const first = check.Errors(value).First();
      const where = first?.path ? `${httpPart}${first.path.replace(/\//g, '.')}` : httpPart;
      return { error: new ApiError('BAD_REQUEST', `${where}: ${first?.message ?? 'invalid'}`) };
    };
  });

  app.setErrorHandler((error, request, reply) => {
    if (error instanceof ApiError) return send(reply, error);
    if ((error as { code?: unknown }).code === 'STORAGE_UNAVAILABLE') {
      options.log?.('database-unavailable', { error: (error as Error).message });
      return send(
        reply,
        new ApiError(
          'SERVICE_UNAVAILABLE',
          'database: not reachable for a moment; try the same request again',
        ),
      );
    }
    const e = error as {
      code?: string;
      statusCode?: number;
      validation?: unknown;
      message: string;
    };
    if (e.code === 'FST_ERR_CTP_BODY_TOO_LARGE')
      return send(
        reply,
        new ApiError('BODY_TOO_LARGE', `request body: larger than ${BODY_LIMIT} bytes`),
      );
    if (e.statusCode === 429)
      return send(
        reply,
        new ApiError(
          'RATE_LIMITED',
          'too many requests from this address; wait a minute',
          Number(reply.getHeader('retry-after')) || 60,
        ),
      );
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) {
      const message =
        e.code?.startsWith('FST_ERR_CTP') || e.code === 'FST_ERR_VALIDATION'
          ? e.message
          : 'request could not be read';
      return send(reply, new ApiError('BAD_REQUEST', `request: ${message}`));
    }
    options.log?.('internal-error', {
      route: request.routeOptions.url ?? 'unknown',
      error: e.message,
    });
    return send(reply, new ApiError('INTERNAL', 'internal error; nothing was charged'));
  });
  app.setNotFoundHandler((request, reply) =>
    send(
      reply,
      new ApiError('NOT_FOUND', `${request.method} ${request.url.split('?')[0]}: no such route`),
    ),
  );

  await app.register(rateLimit, { global: false });
  await app.register(swagger, {
    openapi: {
      info: {
        title: 'Virtual Postage Meter data center',
        version: options.version,
        license: { name: 'Proprietary: the operator of this data center' },
        description:
          'The data center of WO 98/57304: meters, postage, refills, refunds, verification.',
      },
      servers: [
        {
          url: '/',
          description: 'the data center that serves this document (GET /v1/openapi.json)',
        },
      ],
      components: {
        securitySchemes: {
          session: { type: 'http', scheme: 'bearer' },
          scanner: { type: 'http', scheme: 'bearer', description: 'vpm datacenter scanner-token' },
        },
      },
    },
  });

  const authed = (request: FastifyRequest): Promise<Caller> => dc.authenticate(bearer(request));
  const authLimit = { rateLimit: { max: options.authRateLimit ?? 30, timeWindow: '1 minute' } };
  const verifyLimit = {
    rateLimit: { max: options.verifyRateLimit ?? 600, timeWindow: '1 minute' },
  };

  app.get(
    '/v1/health',
    {
      schema: {
        operationId: 'health',
        summary: 'Health of the data center and its boxes',
        security: [],
        response: { 200: S.Health, ...errorSchema },
      },
    },
    async () => ({
      status: 'ok' as const,
      version: options.version,
      boxes: options.boxStatus(),
    }),
  );
  app.get('/v1/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  app.post(
    '/v1/signup',
    {
      config: authLimit,
      schema: {
        operationId: 'signUp',
        summary: 'Create a mailer account and its meter',
        security: [],
        body: S.SignUpRequest,
        response: { 201: S.Account, ...errorSchema },
      },
    },
    async (request, reply) => {
      const account = await dc.signUp(request.body);
      return reply.code(201).send(account);
    },
  );
  app.post(
    '/v1/sessions',
    {
      config: authLimit,
      schema: {
        operationId: 'signIn',
        summary: 'Sign in: a session token and the account',
        security: [],
        body: S.SignInRequest,
        response: { 200: S.SignInResponse, ...errorSchema },
      },
    },
    async (request) => dc.signIn(request.body, request.ip),
  );
  app.delete(
    '/v1/sessions/current',
    {
      schema: {
        operationId: 'signOut',
        summary: 'Sign out: end this session',
        security: [{ session: [] }],
        response: { 204: Type.Null({ description: 'signed out' }), ...errorSchema },
      },
    },
    async (request, reply) => {
      await dc.signOut(await authed(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/v1/account',
    {
      schema: {
        operationId: 'getAccount',
        summary: 'The account and the registers of its meter',
        security: [{ session: [] }],
        response: { 200: S.Account, ...errorSchema },
      },
    },
    async (request) => dc.account(await authed(request)),
  );
  app.put(
    '/v1/account/settings',
    {
      schema: {
        operationId: 'updateSettings',
        summary: 'Set the low-balance threshold and auto-refill',
        security: [{ session: [] }],
        body: S.SettingsRequest,
        response: { 200: S.Account, ...errorSchema },
      },
    },
    async (request) => dc.settings(await authed(request), request.body),
  );
  app.post(
    '/v1/refills',
    {
      schema: {
        operationId: 'refill',
        summary: 'Add funds to the meter by card',
        security: [{ session: [] }],
        body: S.RefillRequest,
        response: { 200: S.Account, ...errorSchema },
      },
    },
    async (request) => dc.refill(await authed(request), request.body),
  );
  app.post(
    '/v1/pieces',
    {
      schema: {
        operationId: 'dispense',
        summary: 'Buy indicia: one per piece, charged to the meter',
        security: [{ session: [] }],
        body: S.DispenseRequest,
        response: { 200: S.DispenseResponse, ...errorSchema },
      },
    },
    async (request) => dc.dispense(await authed(request), request.body),
  );
  app.post(
    '/v1/refunds',
    {
      schema: {
        operationId: 'refund',
        summary: 'Refund an unused piece to the meter',
        security: [{ session: [] }],
        body: S.RefundRequest,
        response: { 200: S.RefundResponse, ...errorSchema },
      },
    },
    async (request) => dc.refund(await authed(request), request.body),
  );
  app.get(
    '/v1/history',
    {
      schema: {
        operationId: 'listHistory',
        summary: 'The pieces bought, a page at a time',
        security: [{ session: [] }],
        querystring: S.HistoryQuery,
        response: { 200: S.HistoryResponse, ...errorSchema },
      },
    },
    async (request) => dc.history(await authed(request), request.query),
  );
  app.get(
    '/v1/history.csv',
    {
      schema: {
        operationId: 'exportHistory',
        summary: 'The pieces bought, as CSV',
        security: [{ session: [] }],
        response: {
          200: Type.String({ description: 'text/csv: one line per piece' }),
          ...errorSchema,
        },
      },
    },
    async (request, reply) => {
      const caller = await authed(request);
      let csv = '';
      for await (const line of dc.historyCsv(caller)) csv += line;
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', 'attachment; filename="postage-history.csv"')
        .send(csv);
    },
  );

  app.get(
    '/v1/certificates',
    {
      config: verifyLimit,
      schema: {
        operationId: 'listCertificates',
        summary: 'Meter certificates for offline verification, a page at a time',
        security: [],
        querystring: S.CertificatesQuery,
        response: { 200: S.CertificateBundle, ...errorSchema },
      },
    },
    async (request) => dc.certificateBundle(request.query),
  );
  app.get(
    '/v1/certificates/:serial',
    {
      schema: {
        operationId: 'getCertificate',
        summary: 'One meter certificate (PEM)',
        security: [],
        params: Type.Object({ serial: Type.String({ pattern: '^[0-9a-fA-F]{16}$' }) }),
        response: { 200: Type.String({ description: 'application/x-pem-file' }), ...errorSchema },
      },
    },
    async (request, reply) => {
      const pem = await dc.certificate(request.params.serial);
      return reply.type('application/x-pem-file').send(pem);
    },
  );
  app.get(
    '/v1/rates',
    {
      config: verifyLimit,
      schema: {
        operationId: 'getRates',
        summary: 'The rate table in force, signed by the transaction box',
        description:
          'The rate table in force (versioned, with its effective date and source), signed by the transaction box; its certificate chains to the vendor CA.',
        security: [],
        response: { 200: S.RatesResponse, ...errorSchema },
      },
    },
    async () => {
      if (!options.rates) throw new ApiError('NOT_FOUND', 'rates: not served by this data center');
      return options.rates();
    },
  );
  app.post(
    '/v1/verify',
    {
      config: verifyLimit,
      schema: {
        operationId: 'verify',
        summary: 'Check an indicium (changes nothing)',
        security: [],
        body: S.VerifyRequest,
        response: { 200: S.VerifyResponse, ...errorSchema },
      },
    },
    async (request) => dc.verify(request.body),
  );
  app.post(
    '/v1/scans',
    {
      schema: {
        operationId: 'scan',
        summary: 'Acceptance scan by the post: check an indicium and mark the piece used',
        security: [{ scanner: [] }],
        body: S.ScanRequest,
        response: { 200: S.ScanResponse, ...errorSchema },
      },
    },
    async (request) => dc.scan(await dc.authenticateScanner(bearer(request)), request.body),
  );

  app.get(
    '/v1/admin/alerts',
    {
      schema: {
        operationId: 'listAlerts',
        summary: 'Fraud alerts (administrator)',
        security: [{ session: [] }],
        response: { 200: S.AlertsResponse, ...errorSchema },
      },
    },
    async (request) => {
      const token = bearer(request);
      const expected = await dc.storage.adminTokenHash();
      const given = createHash('sha256')
        .update(token ?? '')
        .digest('hex');
      if (!token || !expected || !timingSafeEqual(Buffer.from(given), Buffer.from(expected))) {
        throw new ApiError('FORBIDDEN', 'alerts: administrator token required');
      }
      return { alerts: await dc.alerts() };
    },
  );

  return app;
}
