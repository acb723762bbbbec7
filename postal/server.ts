/**
 * @module postal/server
 * The postal authority's HTTPS API (fastify; its own TLS from PDIR/tls): reports and start
 * challenges from data centers, and checks from verifiers. Every body is validated against a JSON
 * schema before the authority sees it; errors leave as `{ "error": { "code", "message" } }`.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { PostalError, type PostalAuthority } from './authority';

/** At most this many reports per request (the data center sends more in several). */
export const MAX_REPORTS_PER_BATCH = 200;
const BODY_LIMIT = 32 * 1024 * 1024;

const signed = {
  type: 'object',
  required: ['body', 'signature'],
  additionalProperties: false,
  properties: {
    body: { type: 'string', maxLength: 262_144 },
    signature: { type: 'string', maxLength: 100 },
  },
} as const;
const pem = { type: 'string', maxLength: 8192 } as const;

export async function buildPostalServer(
  authority: PostalAuthority,
  options: {
    tls: { key: string; cert: string };
    log?: (event: string, fields: Record<string, unknown>) => void;
  },
): Promise<FastifyInstance> {
  const app = Fastify({
    https: { key: options.tls.key, cert: options.tls.cert },
    bodyLimit: BODY_LIMIT,
    logger: false,
    return503OnClosing: true,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false } },
  });
  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof PostalError)
      return reply.code(error.status).send({ error: { code: error.code, message: error.message } });
    const e = error as { statusCode?: number; message: string };
    if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
      return reply
        .code(400)
        .send({ error: { code: 'BAD_REQUEST', message: `request: ${e.message}` } });
    options.log?.('internal-error', { error: e.message });
    return reply.code(500).send({ error: { code: 'INTERNAL', message: 'internal error' } });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      error: { code: 'NOT_FOUND', message: `${request.method} ${request.url}: no such route` },
    }),
  );

  app.get('/v1/health', async () => ({ status: 'ok' }));
  app.post(
    '/v1/reports',
    {
      schema: {
        body: {
          type: 'object',
          required: ['certificatePem', 'reports'],
          additionalProperties: false,
          properties: {
            certificatePem: pem,
            reports: { type: 'array', minItems: 1, maxItems: MAX_REPORTS_PER_BATCH, items: signed },
          },
        },
      },
    },
    async (request) =>
      authority.acceptReports(request.body as Parameters<PostalAuthority['acceptReports']>[0]),
  );
  app.post(
    '/v1/challenge',
    {
      schema: {
        body: {
          type: 'object',
          required: ['certificatePem', 'challenge'],
          additionalProperties: false,
          properties: { certificatePem: pem, challenge: signed },
        },
      },
    },
    async (request) =>
      authority.challenge(request.body as Parameters<PostalAuthority['challenge']>[0]),
  );
  app.post(
    '/v1/check',
    {
      schema: {
        body: {
          type: 'object',
          required: ['indicium', 'certificatePem'],
          additionalProperties: false,
          properties: {
            indicium: { type: 'string', maxLength: 1024, pattern: '^[A-Za-z0-9+/]+=*$' },
            certificatePem: pem,
          },
        },
      },
    },
    async (request) => authority.check(request.body as Parameters<PostalAuthority['check']>[0]),
  );
  return app;
}
