/**
 * The communication server's edge (patent part 32; issue 5 Rules and Tests): bad inputs on every
 * route answer 4xx with a clear code in `{ error: { code, message } }` and change nothing;
 * sign-on lockout with a fraud alert; one mailer's session never reaches another's meter,
 * history or refunds; sessions expire; every error code is documented.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type Database from 'better-sqlite3';
import { API_ERRORS } from '../../../shared/api/errors';
import { MAX_CENTS } from '../../../shared/money';
import { startDataCenter } from '../../../server-mock/index';
import type { DataCenterClient } from '../../../client/services/datacenter-client';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';
import { closeRaw, errorCode, moneySnapshot, openDb, piece, raw } from './support';

const CARD = '4242424242424242';
let t: TestDataCenter;
let db: Database.Database;
let a: DataCenterClient;
let b: DataCenterClient;
let aPiece: string;

beforeAll(async () => {
  t = await startTestDataCenter();
  db = openDb(t.dir);
  a = await t.mailer();
  b = await t.mailer();
  await a.refill({ amountCents: 1000, cardNumber: CARD, idempotencyKey: 'inputs-refill-a' });
  await b.refill({ amountCents: 1000, cardNumber: CARD, idempotencyKey: 'inputs-refill-b' });
  aPiece = (await a.dispense({ pieces: [piece(100)] })).pieces[0]!.pieceId;
});
afterAll(async () => {
  db.close();
  await closeRaw(t);
  await t.close();
});

interface Case {
  name: string;
  method: string;
  path: string;
  body?: string | object;
  token?: 'a' | 'forged' | 'none';
  headers?: Record<string, string>;
  status: number;
  code: string;
}

const good = piece(10, 'good-key-0001');
const withPiece = (patch: Record<string, unknown>) => ({ pieces: [{ ...good, ...patch }] });
const refill = (patch: Record<string, unknown>) => ({
  amountCents: 500,
  cardNumber: CARD,
  idempotencyKey: 'bad-refill-0001',
  ...patch,
});

const CASES: Case[] = [
  // sign-up and sign-on
  ...[
    { username: 5 },
    { username: 'UPPER case' },
    { originZip: '9410' },
    { originZip: '94103-1234' },
    { password: 'short' },
    { name: '' },
    { extra: true },
  ].map((patch, i) => ({
    name: `signup ${i}: ${JSON.stringify(patch)}`,
    method: 'POST',
    path: '/v1/signup',
    body: {
      username: `fresh-user-${i}`,
      password: 'long enough password',
      name: 'X',
      originZip: '94103',
      ...patch,
    },
    token: 'none' as const,
    status: 400,
    code: 'BAD_REQUEST',
  })),
  {
    name: 'signin with a number for a password',
    method: 'POST',
    path: '/v1/sessions',
    body: { username: 'someone', password: 12345678901 },
    token: 'none',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'signin of an unknown user',
    method: 'POST',
    path: '/v1/sessions',
    body: { username: 'nobody-here', password: 'whatever password' },
    token: 'none',
    status: 401,
    code: 'BAD_CREDENTIALS',
  },
  // dispense
  ...(
    [
      ['zero postage', { postageCents: 0 }],
      ['negative postage', { postageCents: -73 }],
      ['sub-cent postage', { postageCents: 7.5 }],
      ['postage as a string', { postageCents: '73' }],
      ['huge postage', { postageCents: MAX_CENTS + 1 }],
      ['postage 1e300', { postageCents: 1e300 }],
      ['4-digit ZIP', { destinationZip: '1000' }],
      ['6-digit ZIP', { destinationZip: '100011' }],
      ['letters in ZIP', { destinationZip: '1000a' }],
      ['unknown mail class', { mailClass: 'teleport' }],
      ['zero weight', { weightOz: 0 }],
      ['weight over 70 lb', { weightOz: 1121 }],
      ['weight as a string', { weightOz: '16' }],
      ['short key', { idempotencyKey: 'k' }],
      ['key with spaces', { idempotencyKey: 'has spaces in it' }],
      ['extra field', { extra: 1 }],
    ] as const
  ).map(([name, patch]) => ({
    name: `dispense with ${name}`,
    method: 'POST',
    path: '/v1/pieces',
    body: withPiece(patch),
    token: 'a' as const,
    status: 400,
    code: 'BAD_REQUEST',
  })),
  {
    name: 'dispense of no pieces',
    method: 'POST',
    path: '/v1/pieces',
    body: { pieces: [] },
    token: 'a',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'dispense with a past mailing date',
    method: 'POST',
    path: '/v1/pieces',
    body: { ...withPiece({}), mailingDate: '2001-01-01' },
    token: 'a',
    status: 400,
    code: 'BAD_MAILING_DATE',
  },
  {
    name: 'dispense of the same key twice in one request',
    method: 'POST',
    path: '/v1/pieces',
    body: { pieces: [good, good] },
    token: 'a',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'dispense of more than the balance',
    method: 'POST',
    path: '/v1/pieces',
    body: withPiece({ postageCents: 100_000 }),
    token: 'a',
    status: 402,
    code: 'INSUFFICIENT_FUNDS',
  },
  {
    name: 'dispense as malformed JSON',
    method: 'POST',
    path: '/v1/pieces',
    body: '{"pieces": [',
    token: 'a',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'dispense as text/plain',
    method: 'POST',
    path: '/v1/pieces',
    body: 'pieces',
    headers: { 'content-type': 'text/plain' },
    token: 'a',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'an oversized body',
    method: 'POST',
    path: '/v1/pieces',
    body: JSON.stringify({ pieces: [good], pad: 'x'.repeat(600 * 1024) }),
    token: 'a',
    status: 413,
    code: 'BODY_TOO_LARGE',
  },
  {
    name: 'dispense without a session',
    method: 'POST',
    path: '/v1/pieces',
    body: withPiece({}),
    token: 'none',
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'dispense with a forged session',
    method: 'POST',
    path: '/v1/pieces',
    body: withPiece({}),
    token: 'forged',
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'dispense with a malformed authorization header',
    method: 'POST',
    path: '/v1/pieces',
    body: withPiece({}),
    token: 'none',
    headers: { authorization: 'Basic Zm9vOmJhcg==' },
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  // refill and settings
  ...(
    [
      ['a negative amount', { amountCents: -500 }],
      ['a zero amount', { amountCents: 0 }],
      ['a sub-cent amount', { amountCents: 500.5 }],
      ['a huge amount', { amountCents: MAX_CENTS + 1 }],
      ['an amount as a string', { amountCents: '500' }],
      ['letters in the card number', { cardNumber: '4242abcd42424242' }],
    ] as const
  ).map(([name, patch]) => ({
    name: `refill with ${name}`,
    method: 'POST',
    path: '/v1/refills',
    body: refill(patch),
    token: 'a' as const,
    status: 400,
    code: 'BAD_REQUEST',
  })),
  {
    name: 'refill with a declined card',
    method: 'POST',
    path: '/v1/refills',
    body: refill({ cardNumber: '4000000000000002' }),
    token: 'a',
    status: 402,
    code: 'CARD_DECLINED',
  },
  {
    name: 'refill without a session',
    method: 'POST',
    path: '/v1/refills',
    body: refill({}),
    token: 'none',
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'settings with a negative threshold',
    method: 'PUT',
    path: '/v1/account/settings',
    body: { lowBalanceCents: -1, autoRefillCents: null },
    token: 'a',
    status: 400,
    code: 'BAD_REQUEST',
  },
  // refund, history, account
  {
    name: 'refund of a malformed piece id',
    method: 'POST',
    path: '/v1/refunds',
    body: { pieceId: 'not-a-uuid' },
    token: 'a',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'refund of an unknown piece',
    method: 'POST',
    path: '/v1/refunds',
    body: { pieceId: '00000000-0000-8000-8000-000000000000' },
    token: 'a',
    status: 404,
    code: 'PIECE_NOT_FOUND',
  },
  ...['page=0', 'pageSize=100000', 'page=abc', 'q=' + 'x'.repeat(100), 'bogus=1'].map((q) => ({
    name: `history?${q.slice(0, 20)}`,
    method: 'GET',
    path: `/v1/history?${q}`,
    token: 'a' as const,
    status: 400,
    code: 'BAD_REQUEST',
  })),
  {
    name: 'account without a session',
    method: 'GET',
    path: '/v1/account',
    token: 'none',
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'history CSV with a forged session',
    method: 'GET',
    path: '/v1/history.csv',
    token: 'forged',
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  {
    name: 'sign-out without a session',
    method: 'DELETE',
    path: '/v1/sessions/current',
    token: 'none',
    status: 401,
    code: 'UNAUTHENTICATED',
  },
  // public and admin routes
  {
    name: 'a malformed certificate serial',
    method: 'GET',
    path: '/v1/certificates/xyz',
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'an unknown certificate serial',
    method: 'GET',
    path: '/v1/certificates/00000000000000ff',
    status: 404,
    code: 'NOT_FOUND',
  },
  {
    name: 'verify of something that is not base64',
    method: 'POST',
    path: '/v1/verify',
    body: { indicium: '***' },
    status: 400,
    code: 'BAD_REQUEST',
  },
  {
    name: 'admin alerts with a mailer session',
    method: 'GET',
    path: '/v1/admin/alerts',
    token: 'a',
    status: 403,
    code: 'FORBIDDEN',
  },
  {
    name: 'admin alerts without a token',
    method: 'GET',
    path: '/v1/admin/alerts',
    status: 403,
    code: 'FORBIDDEN',
  },
  { name: 'an unknown route', method: 'GET', path: '/v1/nothing', status: 404, code: 'NOT_FOUND' },
  {
    name: 'an unknown method on a route',
    method: 'PATCH',
    path: '/v1/pieces',
    token: 'a',
    status: 404,
    code: 'NOT_FOUND',
  },
];

describe('DataCenter communication server', () => {
  describe('bad inputs', () => {
    it.each(CASES.map((c) => [c.name, c] as const))(
      'refuses %s with a clear code and changes nothing',
      async (_name, c) => {
        const before = moneySnapshot(db);
        const history = (await a.history({})).total;
        const token = c.token === 'a' ? a.token : c.token === 'forged' ? 'F'.repeat(43) : undefined;
        const answer = await raw(t, c.method, c.path, { body: c.body, token, headers: c.headers });
        expect(answer.status, answer.text).toBe(c.status);
        expect(errorCode(answer), answer.text).toBe(c.code);
        expect((answer.body as { error: { message: string } }).error.message).not.toMatch(
          /at .*\.ts:\d+|SQLITE|stack/i,
        );
        expect(moneySnapshot(db)).toBe(before);
        expect((await a.history({})).total).toBe(history);
        expect((await a.account()).balanceCents).toBe(900);
      },
    );
  });

  describe('mailer isolation', () => {
    it("keeps one mailer's session away from another's meter, history and refunds", async () => {
      const accountA = await a.account();
      const accountB = await b.account();
      expect(accountB.meterSerial).not.toBe(accountA.meterSerial);
      const before = moneySnapshot(db);
      const refund = await raw(t, 'POST', '/v1/refunds', {
        token: b.token,
        body: { pieceId: aPiece },
      });
      expect(refund.status).toBe(404);
      expect(errorCode(refund)).toBe('PIECE_NOT_FOUND');
      expect(moneySnapshot(db)).toBe(before);
      expect((await b.history({ q: aPiece })).total).toBe(0);
      expect((await b.history({})).items.map((i) => i.pieceId)).not.toContain(aPiece);
      expect(await b.historyCsv()).not.toContain(aPiece);
      // B's dispense charges B's meter only, even with a key A used.
      await b.dispense({ pieces: [piece(100, 'good-key-0001')] });
      expect((await a.account()).balanceCents).toBe(900);
      expect((await b.account()).balanceCents).toBe(900);
    });
  });

  describe('sign-on guessing', () => {
    it('makes a source wait after 3 wrong passwords, tells it how long, and stores an alert', async () => {
      const victim = await t.mailer();
      const { username } = await victim.account();
      const codes: (string | undefined)[] = [];
      for (let i = 0; i < 4; i++) {
        const answer = await raw(t, 'POST', '/v1/sessions', {
          body: { username, password: `wrong password ${i}` },
        });
        codes.push(errorCode(answer));
      }
      expect(codes).toEqual([...Array(3).fill('BAD_CREDENTIALS'), 'RATE_LIMITED']);
      const right = await raw(t, 'POST', '/v1/sessions', {
        body: { username, password: 'correct horse battery' },
      });
      expect(right.status).toBe(429);
      expect(errorCode(right)).toBe('RATE_LIMITED');
      const alerts = await raw(t, 'GET', '/v1/admin/alerts', { token: t.adminToken });
      const list = (alerts.body as { alerts: { code: string; reason: string }[] }).alerts;
      expect(list.some((x) => x.code === 'LOGIN_THROTTLED' && x.reason.includes(username))).toBe(
        true,
      );
    });
  });

  describe('sessions', () => {
    it('ends a session on sign-out', async () => {
      const c = await t.mailer();
      const token = c.token;
      await c.signOut();
      const answer = await raw(t, 'GET', '/v1/account', { token });
      expect(errorCode(answer)).toBe('UNAUTHENTICATED');
    });

    it('expires sessions after sessionTtlSeconds', async () => {
      await t.running.close();
      t.running = await startDataCenter({
        dataDir: t.dir,
        port: 0,
        shares: t.shares,
        sessionTtlSeconds: 1,
      });
      const c = await t.mailer();
      expect((await c.account()).balanceCents).toBe(0);
      await new Promise((r) => setTimeout(r, 1500));
      const answer = await raw(t, 'GET', '/v1/account', { token: c.token });
      expect(answer.status).toBe(401);
      expect(errorCode(answer)).toBe('SESSION_EXPIRED');
    });
  });
});

describe('API_ERRORS', () => {
  it.each(Object.entries(API_ERRORS))('documents %s with advice and an error status', (_, e) => {
    expect(e.advice.length).toBeGreaterThan(10);
    expect(e.advice).toMatch(/\.$/);
    expect(e.status).toBeGreaterThanOrEqual(400);
    expect(e.status).toBeLessThan(600);
  });
});
