/**
 * Helpers shared by the data center's end-to-end tests: raw HTTPS calls pinned to the test CA
 * (for bodies the typed client refuses to send), raw SQL access to the running database (WAL lets
 * a second connection read and write between requests), and piece specs.
 */
import { randomUUID } from 'node:crypto';
import { Agent, request } from 'undici';
import type * as Api from '../../../shared/api/schemas';
import type { TestDataCenter } from '../../helpers/datacenter';

export interface RawAnswer {
  status: number;
  body: unknown;
  text: string;
}

const agents = new WeakMap<TestDataCenter, Agent>();

/** One HTTPS request with any body and headers; never throws on a 4xx/5xx. */
export async function raw(
  t: TestDataCenter,
  method: string,
  path: string,
  options: { body?: string | object; token?: string; headers?: Record<string, string> } = {},
): Promise<RawAnswer> {
  let agent = agents.get(t);
  if (!agent) {
    agent = new Agent({ connect: { ca: t.caPem } });
    agents.set(t, agent);
  }
  const body =
    options.body === undefined
      ? undefined
      : typeof options.body === 'string'
        ? options.body
        : JSON.stringify(options.body);
  const response = await request(new URL(path, t.running.url), {
    method: method as 'GET',
    dispatcher: agent,
    headers: {
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    body,
  });
  const text = await response.body.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: response.statusCode, body: parsed, text };
}

export async function closeRaw(t: TestDataCenter): Promise<void> {
  await agents.get(t)?.close();
  agents.delete(t);
}

/** The error code of a raw answer, or undefined when it has not the `{error:{code,message}}` shape. */
export function errorCode(answer: RawAnswer): string | undefined {
  const e = (answer.body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  return typeof e?.code === 'string' && typeof e.message === 'string' ? e.code : undefined;
}

export function piece(postageCents = 73, key = `k-${randomUUID()}`): Api.PieceSpec {
  return { idempotencyKey: key, postageCents, mailClass: 'first-class', destinationZip: '10001' };
}

export * from '../../../bench/database';
