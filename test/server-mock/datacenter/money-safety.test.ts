/**
 * Money safety over the real HTTPS API (issue 14): one postage is one piece of mail. The
 * malleable (r, n − s) copy of a real piece is refused offline and online; anonymous verification
 * changes nothing and only a scanner's acceptance scan uses a piece; a scan and a refund sent
 * together never both succeed; a reused key with another body is a conflict on every keyed
 * route; a refill writes back no setting; one ceiling for balances; impossible dates are a 400.
 */
import type Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIndicium, PAYLOAD_LENGTH } from '../../../shared/indicium/codec';
import { isLowS, malleate } from '../../../shared/indicium/low-s';
import { verifyIndicium } from '../../../shared/indicium/verify';
import { MAX_CENTS } from '../../../shared/money';
import type * as Api from '../../../shared/api/schemas';
import { createScannerToken } from '../../../server-mock/index';
import {
  FakeCardProcessor,
  type CardProcessor,
  type Charge,
} from '../../../server-mock/function/card-processor';
import type { DataCenterClient } from '../../../client/services/datacenter-client';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';
import { closeRaw, errorCode, moneySnapshot, openDb, piece, raw } from './support';

const CARD = '4242424242424242';
const OTHER_CARD = '5555555555554444';
let t: TestDataCenter;
let db: Database.Database;
let scanner: string;

// The card processor (the one outside border) with a counter and a gate for refills in flight.
const fake = new FakeCardProcessor();
let charges = 0;
let gate: Promise<void> | undefined;
let entered: (() => void) | undefined;
const cards: CardProcessor = {
  async charge(number, amount, key): Promise<Charge | undefined> {
    charges++;
    entered?.();
    if (gate) await gate;
    return fake.charge(number, amount, key);
  },
  chargeToken: (token, amount, key) => fake.chargeToken(token, amount, key),
  fingerprint: (number) => fake.fingerprint(number),
};

beforeAll(async () => {
  t = await startTestDataCenter({ cardProcessor: cards });
  db = openDb(t.dir);
  scanner = await createScannerToken(t.dir, 'money-safety-post');
});
afterAll(async () => {
  db.close();
  await closeRaw(t);
  await t.close();
});

const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytesOf = (text: string) => new Uint8Array(Buffer.from(text, 'base64'));

/** The (r, n − s) twin of an indicium: same payload, the other valid ECDSA signature. */
function malleableCopy(indicium: string): string {
  const bytes = bytesOf(indicium);
  const copy = new Uint8Array(bytes);
  copy.set(malleate(bytes.subarray(PAYLOAD_LENGTH)), PAYLOAD_LENGTH);
  return b64(copy);
}

async function funded(cents = 100_000): Promise<DataCenterClient> {
  const c = await t.mailer();
  await c.refill({ amountCents: cents, cardNumber: CARD, idempotencyKey: `fund-${Date.now()}-x` });
  return c;
}

const scan = async (indicium: string, token = scanner) =>
  raw(t, 'POST', '/v1/scans', { token, body: { indicium } });
const verdictOf = (answer: { body: unknown }) => (answer.body as Api.VerifyResponse).verdict;

describe('ECDSA malleability', () => {
  it('signs every indicium in low-s form', async () => {
    const c = await funded();
    const { pieces } = await c.dispense({ pieces: Array.from({ length: 24 }, () => piece(5)) });
    for (const p of pieces) expect(isLowS(bytesOf(p.indicium).subarray(PAYLOAD_LENGTH))).toBe(true);
  });

  it('refuses the (r, n − s) copy of a real piece offline and online, and keys scans on the piece', async () => {
    const c = await funded();
    const original = (await c.dispense({ pieces: [piece(73)] })).pieces[0]!;
    const copy = malleableCopy(original.indicium);
    expect(copy).not.toBe(original.indicium);
    expect(decodeIndicium(bytesOf(copy)).fields.pieceId).toBe(original.pieceId);

    // Offline, with the published certificates only.
    const bundle = await c.certificates();
    const source = {
      vendorCaPem: bundle.vendorCaPem,
      find: (serial: string) => bundle.certificates[serial],
    };
    expect((await verifyIndicium(bytesOf(original.indicium), source)).verdict).toBe('valid');
    const offline = await verifyIndicium(bytesOf(copy), source);
    expect(offline.verdict).toBe('bad-signature');
    expect(offline.reason).toMatch(/high s/);

    // Online: anyone's verification, then the post office's acceptance scans.
    expect((await c.verify(bytesOf(copy))).verdict).toBe('bad-signature');
    expect(verdictOf(await scan(copy))).toBe('bad-signature');
    expect(verdictOf(await scan(original.indicium))).toBe('valid');
    expect(verdictOf(await scan(copy))).toBe('bad-signature');
    expect(verdictOf(await scan(original.indicium))).toBe('duplicate');

    // The piece was used: no refund, whatever was presented.
    const refund = await raw(t, 'POST', '/v1/refunds', {
      token: c.token,
      body: { pieceId: original.pieceId },
    });
    expect(errorCode(refund)).toBe('REFUND_NOT_ALLOWED');
  });

  it('does not let a scanned copy make its original refundable, nor the reverse', async () => {
    const c = await funded();
    const [a, b] = (await c.dispense({ pieces: [piece(50), piece(60)] })).pieces as [
      Api.IssuedPiece,
      Api.IssuedPiece,
    ];
    // A refunded piece's copy is not postage either.
    await c.refund({ pieceId: a.pieceId });
    expect(verdictOf(await scan(malleableCopy(a.indicium)))).toBe('bad-signature');
    expect(verdictOf(await scan(a.indicium))).toBe('duplicate');
    // A scanned piece stays used when its copy comes by.
    expect(verdictOf(await scan(b.indicium))).toBe('valid');
    expect((await c.verify(bytesOf(malleableCopy(b.indicium)))).verdict).toBe('bad-signature');
    await expect(c.refund({ pieceId: b.pieceId })).rejects.toMatchObject({
      code: 'REFUND_NOT_ALLOWED',
    });
  });
});

describe('acceptance scans', () => {
  it('lets anonymous verification change nothing: the piece stays refundable', async () => {
    const c = await funded();
    const p = (await c.dispense({ pieces: [piece(88)] })).pieces[0]!;
    const before = moneySnapshot(db);
    for (let i = 0; i < 3; i++) {
      const answer = await raw(t, 'POST', '/v1/verify', { body: { indicium: p.indicium } });
      expect(answer.body).toMatchObject({ verdict: 'valid', seenBefore: 0 });
    }
    expect(moneySnapshot(db)).toBe(before);
    const refund = await c.refund({ pieceId: p.pieceId });
    expect(refund.refundedCents).toBe(88);
  });

  it('takes scans only with a scanner credential', async () => {
    const c = await funded();
    const p = (await c.dispense({ pieces: [piece(40)] })).pieces[0]!;
    const before = moneySnapshot(db);
    const none = await raw(t, 'POST', '/v1/scans', { body: { indicium: p.indicium } });
    expect([none.status, errorCode(none)]).toEqual([401, 'UNAUTHENTICATED']);
    const mailer = await scan(p.indicium, c.token as string);
    expect([mailer.status, errorCode(mailer)]).toEqual([403, 'FORBIDDEN']);
    const admin = await scan(p.indicium, t.adminToken);
    expect([admin.status, errorCode(admin)]).toEqual([403, 'FORBIDDEN']);
    expect(moneySnapshot(db)).toBe(before);
    expect(verdictOf(await scan(p.indicium))).toBe('valid');
    await expect(c.refund({ pieceId: p.pieceId })).rejects.toMatchObject({
      code: 'REFUND_NOT_ALLOWED',
    });
  });

  it('never both scans and refunds a piece when both are sent a few ms apart', async () => {
    const c = await funded();
    const pieces = (await c.dispense({ pieces: Array.from({ length: 24 }, () => piece(10)) }))
      .pieces;
    const outcomes = await Promise.all(
      pieces.map(async (p, i) => {
        const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));
        const [scanned, refunded] = await Promise.all([
          delay(i % 3).then(() => scan(p.indicium)),
          delay((i + 1) % 4).then(() =>
            raw(t, 'POST', '/v1/refunds', { token: c.token, body: { pieceId: p.pieceId } }),
          ),
        ]);
        return { id: p.pieceId, scan: verdictOf(scanned), refund: refunded.status };
      }),
    );
    for (const o of outcomes) {
      // Exactly one of the two used the piece.
      expect(
        [o.scan === 'valid', o.refund === 200].filter(Boolean),
        JSON.stringify(o),
      ).toHaveLength(1);
    }
    const both = db
      .prepare(
        `SELECT COUNT(*) AS n FROM pieces p JOIN piece_claims c ON c.piece_id = p.piece_id
           WHERE p.status = 'refunded' AND c.kind = 'scan'`,
      )
      .get() as { n: number };
    expect(both.n).toBe(0);
    const refunded = outcomes.filter((o) => o.refund === 200).length;
    expect((await c.account()).balanceCents).toBe(100_000 - 240 + 10 * refunded);
  });
});

describe('idempotency keys', () => {
  it('refuses a refill key reused with another amount or card (409) and credits once', async () => {
    const c = await t.mailer();
    const body = { amountCents: 1500, cardNumber: CARD, idempotencyKey: 'refill-reuse-0001' };
    await c.refill(body);
    const before = moneySnapshot(db);
    for (const changed of [
      { ...body, amountCents: 2500 },
      { ...body, cardNumber: OTHER_CARD },
    ]) {
      const answer = await raw(t, 'POST', '/v1/refills', { token: c.token, body: changed });
      expect([answer.status, errorCode(answer)]).toEqual([409, 'IDEMPOTENCY_CONFLICT']);
    }
    expect(moneySnapshot(db)).toBe(before);
    expect((await c.refill(body)).creditedCents).toBe(1500);
  });

  it('refuses a dispense key reused with another mailing date', async () => {
    const c = await funded();
    const tomorrow = new Date(Date.now() + 86_400_000).toISOString().slice(0, 10);
    const spec = piece(30, 'date-reuse-key-01');
    await c.dispense({ pieces: [spec] });
    const before = moneySnapshot(db);
    const answer = await raw(t, 'POST', '/v1/pieces', {
      token: c.token,
      body: { pieces: [spec], mailingDate: tomorrow },
    });
    expect([answer.status, errorCode(answer)]).toEqual([409, 'IDEMPOTENCY_CONFLICT']);
    expect(moneySnapshot(db)).toBe(before);
  });

  it('does not turn auto-refill on again when settings change while a refill is in flight', async () => {
    const c = await t.mailer();
    await c.settings({ lowBalanceCents: 500, autoRefillCents: 2000 });
    let release!: () => void;
    gate = new Promise<void>((r) => (release = r));
    const inCharge = new Promise<void>((r) => (entered = r));
    try {
      const refill = c.refill({
        amountCents: 1000,
        cardNumber: CARD,
        idempotencyKey: 'inflight-1',
      });
      await inCharge;
      const off = await c.settings({ lowBalanceCents: 700, autoRefillCents: null });
      expect(off.autoRefillCents).toBeNull();
      release();
      const after = await refill;
      expect([after.autoRefillCents, after.lowBalanceCents]).toEqual([null, 700]);
      expect((await c.account()).autoRefillCents).toBeNull();
      // Spending below the threshold now refills nothing: auto-refill stayed off.
      await c.dispense({ pieces: [piece(400)] });
      expect((await c.account()).creditedCents).toBe(1000);
    } finally {
      release();
      gate = undefined;
      entered = undefined;
    }
  });
});

describe('the money ceiling', () => {
  it('refuses a refill or a refund that would take a balance past $1,000,000 and changes nothing', async () => {
    const c = await t.mailer();
    await c.refill({ amountCents: MAX_CENTS, cardNumber: CARD, idempotencyKey: 'ceiling-1' });
    const p = (await c.dispense({ pieces: [piece(100)] })).pieces[0]!;
    await c.refill({ amountCents: 100, cardNumber: CARD, idempotencyKey: 'ceiling-2' });
    expect((await c.account()).balanceCents).toBe(MAX_CENTS);
    const chargesBefore = charges;
    const before = moneySnapshot(db);

    const refill = await raw(t, 'POST', '/v1/refills', {
      token: c.token,
      body: { amountCents: 100, cardNumber: CARD, idempotencyKey: 'ceiling-3' },
    });
    expect([refill.status, errorCode(refill)]).toEqual([409, 'BALANCE_LIMIT']);
    expect((refill.body as Api.ErrorBody).error.message).toMatch(/\$1,000,000\.00/);
    const refund = await raw(t, 'POST', '/v1/refunds', {
      token: c.token,
      body: { pieceId: p.pieceId },
    });
    expect([refund.status, errorCode(refund)]).toEqual([409, 'BALANCE_LIMIT']);
    expect(charges).toBe(chargesBefore);
    expect(moneySnapshot(db)).toBe(before);
    // The piece is still good postage, and the account still signs on.
    expect(verdictOf(await scan(p.indicium))).toBe('valid');
    const { username } = await c.account();
    await c.signIn({ username, password: 'correct horse battery' });
    expect((await c.account()).balanceCents).toBe(MAX_CENTS);
  });
});

describe('mailing dates', () => {
  it.each(['2026-02-30', '2027-02-29', '2026-13-01', '2026-04-31', '0000-01-01'])(
    'answers a mailing date of %s with a 400 and charges nothing',
    async (mailingDate) => {
      const c = await funded(1000);
      const before = moneySnapshot(db);
      const answer = await raw(t, 'POST', '/v1/pieces', {
        token: c.token,
        body: { pieces: [piece(10)], mailingDate },
      });
      expect([answer.status, errorCode(answer)]).toEqual([400, 'BAD_REQUEST']);
      expect((answer.body as Api.ErrorBody).error.message).toMatch(/mailingDate/);
      expect(moneySnapshot(db)).toBe(before);
    },
  );
});
