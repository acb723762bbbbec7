/**
 * Sign-on and the wire, attacked over real HTTPS (issue 14): no user enumeration; guessing slowed
 * per source without letting a stranger lock the owner out (loopback addresses 127.0.0.2 … stand
 * in for different clients); the data directory and database files private even when they were
 * not; AEAD-only TLS; security headers; every error in the `{error: {code, message}}` shape (413
 * and 431 included); certificates in pages; meter serials that do not count customers;
 * verification rate-limited per source.
 */
import { mkdtemp, chmod, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type TLSSocket } from 'node:tls';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initDataCenter, startDataCenter } from '../../../server-mock/index';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';
import { closeRaw, errorCode, openDb, raw, type RawAnswer } from './support';

const PASSWORD = 'correct horse battery';
let t: TestDataCenter;
let clock = Date.now();
const agents = new Map<string, Agent>();

beforeAll(async () => {
  t = await startTestDataCenter({ signOn: { now: () => clock }, verifyRateLimit: 20 });
});
afterAll(async () => {
  await Promise.all([...agents.values()].map((a) => a.close()));
  await closeRaw(t);
  await t.close();
});

/** A request from a loopback source address of its own (a different client). */
async function from(
  source: string,
  method: 'GET' | 'POST',
  path: string,
  body?: object,
  token?: string,
): Promise<RawAnswer & { headers: Record<string, unknown> }> {
  let agent = agents.get(source);
  if (!agent) {
    agent = new Agent({ connect: { ca: t.caPem }, localAddress: source });
    agents.set(source, agent);
  }
  const response = await request(new URL(path, t.running.url), {
    method,
    dispatcher: agent,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await response.body.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.statusCode, body: parsed, text, headers: response.headers };
}

const signOn = (source: string, username: string, password: string) =>
  from(source, 'POST', '/v1/sessions', { username, password });

describe('sign-on', () => {
  it('answers an unknown user name as a wrong password, after the same password-hash work', async () => {
    const c = await t.mailer();
    const { username } = await c.account();
    const auth = t.running.dc.boxes.auth;
    const original = auth.authenticate.bind(auth);
    const checked: string[] = [];
    auth.authenticate = (args) => {
      checked.push(args.mailerId);
      return original(args);
    };
    try {
      const wrong = await signOn('127.0.0.9', username, 'not the password');
      const unknown = await signOn('127.0.0.9', `${username}-nobody`, 'not the password');
      expect(unknown.status).toBe(wrong.status);
      expect(unknown.body).toEqual(wrong.body);
      expect(errorCode(unknown)).toBe('BAD_CREDENTIALS');
      // Both went through the authentication box's scrypt check.
      expect(checked).toHaveLength(2);
      expect(checked[1]).not.toBe(checked[0]);
    } finally {
      auth.authenticate = original;
    }
  });

  it('makes a guessing source wait longer after each failure, while the owner signs on from elsewhere', async () => {
    const c = await t.mailer();
    const { username } = await c.account();
    const stranger = '127.0.0.2';
    const codes: (string | undefined)[] = [];
    for (let i = 0; i < 3; i++)
      codes.push(errorCode(await signOn(stranger, username, `guess ${i}`)));
    expect(codes).toEqual(['BAD_CREDENTIALS', 'BAD_CREDENTIALS', 'BAD_CREDENTIALS']);

    const waits: string[] = [];
    for (const advance of [1000, 2000, 4000]) {
      const held = await signOn(stranger, username, PASSWORD);
      expect([held.status, errorCode(held)]).toEqual([429, 'RATE_LIMITED']);
      waits.push(String(held.headers['retry-after']));
      clock += advance; // the wait is over: one more guess, which doubles the next wait
      expect(errorCode(await signOn(stranger, username, 'one more guess'))).toBe('BAD_CREDENTIALS');
    }
    expect(waits).toEqual(['1', '2', '4']);
    expect(String((await signOn(stranger, username, PASSWORD)).headers['retry-after'])).toBe('8');

    // The owner, from another address, is not locked out by the stranger.
    const owner = await signOn('127.0.0.3', username, PASSWORD);
    expect(owner.status).toBe(200);
    const alerts = await t.running.dc.alerts();
    expect(alerts.some((a) => a.code === 'LOGIN_THROTTLED' && a.reason.includes(username))).toBe(
      true,
    );
  });

  it('slows a source that guesses across many user names, not the owners', async () => {
    const c = await t.mailer();
    const { username } = await c.account();
    const sprayer = '127.0.0.4';
    for (let i = 0; i < 10; i++)
      expect(errorCode(await signOn(sprayer, `sprayed-name-${i}`, 'password1'))).toBe(
        'BAD_CREDENTIALS',
      );
    const held = await signOn(sprayer, username, PASSWORD);
    expect([held.status, errorCode(held)]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(held.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await signOn('127.0.0.3', username, PASSWORD)).status).toBe(200);
  });
});

describe('the data directory', () => {
  it('keeps the directory 0700 and datacenter.db, -wal and -shm 0600, even when they were looser', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vpm-modes-'));
    const db = join(dir, 'datacenter.db');
    const mode = async (path: string) => (await stat(path)).mode & 0o777;
    try {
      await chmod(dir, 0o755);
      const { shares } = await initDataCenter(dir);
      expect(await mode(dir)).toBe(0o700);
      expect(await mode(db)).toBe(0o600);
      let running = await startDataCenter({ dataDir: dir, port: 0, shares });
      for (const f of [db, `${db}-wal`, `${db}-shm`]) expect(await mode(f), f).toBe(0o600);
      await running.close();
      await chmod(dir, 0o755);
      for (const f of [db, `${db}-wal`, `${db}-shm`]) await chmod(f, 0o644).catch(() => undefined);
      running = await startDataCenter({ dataDir: dir, port: 0, shares });
      expect(await mode(dir)).toBe(0o700);
      for (const f of [db, `${db}-wal`, `${db}-shm`]) expect(await mode(f), f).toBe(0o600);
      await running.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('TLS', () => {
  const handshake = (options: { ciphers?: string; maxVersion?: 'TLSv1.2' | 'TLSv1.3' }) =>
    new Promise<{ ok: boolean; cipher?: string; version?: string }>((done) => {
      const socket: TLSSocket = connect({
        host: '127.0.0.1',
        port: t.running.port,
        servername: 'localhost',
        ca: t.caPem,
        ...options,
      });
      socket.once('secureConnect', () => {
        done({ ok: true, cipher: socket.getCipher().name, version: socket.getProtocol() ?? '' });
        socket.destroy();
      });
      socket.once('error', () => done({ ok: false }));
    });

  it.each([
    'ECDHE-ECDSA-AES128-SHA',
    'ECDHE-ECDSA-AES256-SHA',
    'ECDHE-ECDSA-AES128-SHA256',
    'ECDHE-ECDSA-AES256-SHA384',
  ])('refuses the non-AEAD TLS 1.2 suite %s', async (ciphers) => {
    expect((await handshake({ ciphers, maxVersion: 'TLSv1.2' })).ok).toBe(false);
  });

  it.each(['ECDHE-ECDSA-AES128-GCM-SHA256', 'ECDHE-ECDSA-CHACHA20-POLY1305'])(
    'accepts the TLS 1.2 AEAD suite %s',
    async (ciphers) => {
      expect(await handshake({ ciphers, maxVersion: 'TLSv1.2' })).toMatchObject({
        ok: true,
        cipher: ciphers,
      });
    },
  );

  it('speaks TLS 1.3', async () => {
    expect(await handshake({})).toMatchObject({ ok: true, version: 'TLSv1.3' });
  });
});

describe('answers', () => {
  it('sends HSTS, nosniff and no-store with tokens and account data', async () => {
    const c = await t.mailer();
    const { username } = await c.account();
    const answers = [
      await from('127.0.0.7', 'POST', '/v1/sessions', { username, password: PASSWORD }),
      await from('127.0.0.7', 'GET', '/v1/account', undefined, c.token),
      await from('127.0.0.7', 'GET', '/v1/history', undefined, c.token),
      await from('127.0.0.7', 'GET', '/v1/account'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200, 401]);
    for (const { headers } of answers) {
      expect(headers['strict-transport-security']).toMatch(/max-age=\d{7,}/);
      expect(headers['x-content-type-options']).toBe('nosniff');
      expect(headers['cache-control']).toBe('no-store');
    }
  });

  it('answers a body over the limit with 413 in the error shape', async () => {
    const c = await t.mailer();
    const answer = await raw(t, 'POST', '/v1/pieces', {
      token: c.token,
      body: JSON.stringify({ pieces: [], padding: 'x'.repeat(600 * 1024) }),
    });
    expect([answer.status, errorCode(answer)]).toEqual([413, 'BODY_TOO_LARGE']);
  });

  it('answers headers over the limit with 431 in the error shape', async () => {
    const agent = new Agent({ connect: { ca: t.caPem } });
    try {
      const response = await request(new URL('/v1/health', t.running.url), {
        dispatcher: agent,
        headers: { 'x-padding': 'x'.repeat(20_000) },
      });
      const body = (await response.body.json()) as { error: { code: string; message: string } };
      expect(response.statusCode).toBe(431);
      expect(body.error).toMatchObject({ code: 'HEADERS_TOO_LARGE', message: expect.any(String) });
      expect(response.headers['x-content-type-options']).toBe('nosniff');
    } finally {
      await agent.close();
    }
  });
});

describe('certificates, serials and verification', () => {
  it('pages GET /v1/certificates, and the client reads every page', async () => {
    for (let i = 0; i < 3; i++) await t.mailer();
    const db = openDb(t.dir);
    const meters = (db.prepare('SELECT COUNT(*) AS n FROM meters').get() as { n: number }).n;
    db.close();
    const seen: string[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 100; pages++) {
      const query: string = `?limit=2${after ? `&after=${after}` : ''}`;
      const page = await raw(t, 'GET', `/v1/certificates${query}`);
      const body = page.body as { certificates: Record<string, string>; next: string | null };
      expect(Object.keys(body.certificates).length).toBeLessThanOrEqual(2);
      seen.push(...Object.keys(body.certificates));
      after = body.next;
      if (!after) break;
    }
    expect(seen).toHaveLength(meters);
    expect([...seen].sort()).toEqual(seen);
    expect(new Set(seen).size).toBe(meters);
    const c = t.client();
    expect(Object.keys((await c.certificates()).certificates).sort()).toEqual(seen);
    for (const bad of ['?limit=0', '?limit=501', '?after=XYZ'])
      expect(errorCode(await raw(t, 'GET', `/v1/certificates${bad}`))).toBe('BAD_REQUEST');
  });

  it('gives meters serials that do not count the customers', async () => {
    const serials: string[] = [];
    for (let i = 0; i < 4; i++) serials.push((await (await t.mailer()).account()).meterSerial);
    for (const s of serials) expect(s).toMatch(/^VPM\d{9}$/);
    const numbers = serials.map((s) => Number(s.slice(3))).sort((a, b) => a - b);
    expect(new Set(numbers).size).toBe(4);
    // Sequential serials would span 3; random ones in 10^9 are far apart.
    expect((numbers[3] as number) - (numbers[0] as number)).toBeGreaterThan(1000);
  });

  it('rate-limits verification per source address', async () => {
    const body = { indicium: 'AAAA' };
    const answers: number[] = [];
    for (let i = 0; i < 21; i++)
      answers.push((await from('127.0.0.5', 'POST', '/v1/verify', body)).status);
    expect(answers.slice(0, 20).every((s) => s === 200)).toBe(true);
    const limited = await from('127.0.0.5', 'POST', '/v1/verify', body);
    expect([limited.status, errorCode(limited)]).toEqual([429, 'RATE_LIMITED']);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect((await from('127.0.0.6', 'POST', '/v1/verify', body)).status).toBe(200);
  });
});
