/**
 * The data center end to end over real HTTPS (issue 5, "Tests"): the whole Fig. 3 flow with exact
 * registers, per-meter serialization under 50 concurrent dispenses, idempotency keys (replay,
 * conflict, batch limits), the health and OpenAPI documents.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIndicium } from '../../../shared/indicium/codec';
import { createScannerToken } from '../../../server-mock/index';
import { startTestDataCenter, type TestDataCenter } from '../../helpers/datacenter';
import { closeRaw, errorCode, piece, raw } from './support';

const CARD = '4242424242424242';
let t: TestDataCenter;

beforeAll(async () => {
  t = await startTestDataCenter();
});
afterAll(async () => {
  await closeRaw(t);
  await t.close();
});

describe('DataCenter over HTTPS', () => {
  describe('the Fig. 3 flow', () => {
    it('signs up, signs on, refills, dispenses, lists, refunds and verifies with exact registers', async () => {
      const c = await t.mailer();
      const start = await c.account();
      expect([start.balanceCents, start.ascendingCents, start.creditedCents]).toEqual([0, 0, 0]);

      const afterRefill = await c.refill({
        amountCents: 5000,
        cardNumber: CARD,
        idempotencyKey: 'refill-flow-1',
      });
      expect(afterRefill.balanceCents).toBe(5000);

      const { pieces, balanceCents } = await c.dispense({
        pieces: [piece(73), piece(120)],
      });
      expect(balanceCents).toBe(5000 - 193);
      expect(pieces.map((p) => [p.ascendingCents, p.descendingCents])).toEqual([
        [73, 4927],
        [193, 4807],
      ]);
      for (const p of pieces) {
        const fields = decodeIndicium(new Uint8Array(Buffer.from(p.indicium, 'base64'))).fields;
        expect(fields.deviceId).toBe(start.meterSerial);
        expect(fields.pieceId).toBe(p.pieceId);
        expect(fields.ascendingCents).toBe(p.ascendingCents);
      }

      const history = await c.history({});
      expect(history.total).toBe(2);
      expect(history.items.map((i) => i.pieceId).sort()).toEqual(
        pieces.map((p) => p.pieceId).sort(),
      );

      const first = pieces[0]!;
      const second = pieces[1]!;
      const bytes = (b64: string) => new Uint8Array(Buffer.from(b64, 'base64'));
      // Anyone may verify (read-only); the post office's acceptance scan uses the piece.
      expect((await c.verify(bytes(second.indicium))).verdict).toBe('valid');
      expect((await c.verify(bytes(second.indicium))).verdict).toBe('valid');
      const scanner = await createScannerToken(t.dir, 'flow-post-office');
      const scan = () =>
        raw(t, 'POST', '/v1/scans', { token: scanner, body: { indicium: second.indicium } });
      expect(((await scan()).body as { verdict: string }).verdict).toBe('valid');
      expect(((await scan()).body as { verdict: string }).verdict).toBe('duplicate');
      expect((await c.verify(bytes(second.indicium))).verdict).toBe('duplicate');

      const refund = await c.refund({ pieceId: first.pieceId });
      expect(refund).toEqual({ pieceId: first.pieceId, refundedCents: 73, balanceCents: 4880 });
      const verdict = await c.verify(bytes(first.indicium));
      expect(verdict.verdict).not.toBe('valid');
      expect(verdict.reason).toMatch(/refunded/);

      const end = await c.account();
      expect(end.balanceCents).toBe(4880);
      expect(end.ascendingCents).toBe(193);
      expect(end.creditedCents).toBe(5073);
      expect(end.ascendingCents + end.balanceCents).toBe(end.creditedCents);

      const csv = await c.historyCsv();
      const lines = csv.trim().split('\n');
      expect(lines).toHaveLength(3);
      expect(csv).toContain(`${first.pieceId},`);
      expect(lines.find((l) => l.startsWith(first.pieceId))).toMatch(/,refunded,(\d{20,22})?$/);

      await expect(c.refund({ pieceId: first.pieceId })).rejects.toMatchObject({
        code: 'REFUND_NOT_ALLOWED',
      });
      await expect(c.refund({ pieceId: second.pieceId })).rejects.toMatchObject({
        code: 'REFUND_NOT_ALLOWED', // the post office scanned it
      });
      expect((await c.account()).balanceCents).toBe(4880);
    });
  });

  describe('per-meter serialization', () => {
    it('loses no update under 50 concurrent dispenses on one meter', async () => {
      const c = await t.mailer();
      await c.refill({ amountCents: 10_000, cardNumber: CARD, idempotencyKey: 'refill-conc-1' });
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => c.dispense({ pieces: [piece(10 + i)] })),
      );
      const issued = results.map((r) => r.pieces[0]!);
      const total = issued.reduce((s, p) => s + p.postageCents, 0);
      expect(new Set(issued.map((p) => p.ascendingCents)).size).toBe(50);
      expect(Math.max(...issued.map((p) => p.ascendingCents))).toBe(total);
      for (const p of issued) expect(p.ascendingCents + p.descendingCents).toBe(10_000);
      const account = await c.account();
      expect(account.ascendingCents).toBe(total);
      expect(account.balanceCents).toBe(10_000 - total);
      expect((await c.history({ pageSize: 500 })).total).toBe(50);
    });
  });

  describe('idempotency keys', () => {
    it('returns the same indicium for a retried key and charges once', async () => {
      const c = await t.mailer();
      await c.refill({ amountCents: 1000, cardNumber: CARD, idempotencyKey: 'refill-idem-1' });
      const spec = piece(55, 'same-key-0001');
      const once = await c.dispense({ pieces: [spec] });
      const twice = await c.dispense({ pieces: [spec] });
      expect(twice.pieces[0]!.indicium).toBe(once.pieces[0]!.indicium);
      expect(twice.pieces[0]!.replayed).toBe(true);
      expect(once.pieces[0]!.replayed).toBe(false);
      expect(twice.balanceCents).toBe(945);
      expect((await c.account()).balanceCents).toBe(945);
    });

    it('refuses the same key with a different postage with IDEMPOTENCY_CONFLICT and charges nothing', async () => {
      const c = await t.mailer();
      await c.refill({ amountCents: 1000, cardNumber: CARD, idempotencyKey: 'refill-idem-2' });
      await c.dispense({ pieces: [piece(55, 'conflict-key-1')] });
      const answer = await raw(t, 'POST', '/v1/pieces', {
        token: c.token,
        body: { pieces: [piece(56, 'conflict-key-1')] },
      });
      expect(answer.status).toBe(409);
      expect(errorCode(answer)).toBe('IDEMPOTENCY_CONFLICT');
      expect((await c.account()).balanceCents).toBe(945);
    });

    it('counts a refill key once', async () => {
      const c = await t.mailer();
      await c.refill({ amountCents: 700, cardNumber: CARD, idempotencyKey: 'refill-twice-1' });
      await c.refill({ amountCents: 700, cardNumber: CARD, idempotencyKey: 'refill-twice-1' });
      expect((await c.account()).creditedCents).toBe(700);
    });

    it('dispenses a batch of 500 pieces and refuses 501', async () => {
      const c = await t.mailer();
      await c.refill({ amountCents: 100_000, cardNumber: CARD, idempotencyKey: 'refill-batch-1' });
      const batch = Array.from({ length: 500 }, (_, i) => piece(1, `batch-key-${i}-xyz`));
      const answer = await c.dispense({ pieces: batch });
      expect(answer.pieces).toHaveLength(500);
      expect(answer.balanceCents).toBe(99_500);
      expect(new Set(answer.pieces.map((p) => p.ascendingCents)).size).toBe(500);
      const tooMany = await raw(t, 'POST', '/v1/pieces', {
        token: c.token,
        body: { pieces: [...batch, piece(1)] },
      });
      expect(tooMany.status).toBe(400);
      expect(errorCode(tooMany)).toBe('BAD_REQUEST');
      expect((await c.account()).balanceCents).toBe(99_500);
    });
  });

  describe('documents', () => {
    it('answers GET /v1/health with the state of every box process', async () => {
      const answer = await raw(t, 'GET', '/v1/health');
      expect(answer.status).toBe(200);
      expect(answer.body).toMatchObject({ status: 'ok' });
      expect((answer.body as { boxes: unknown }).boxes).toEqual({
        meter: 'up',
        steel: 'up',
        auth: 'up',
        txn: 'up',
      });
      // A box that died shows as down until the data center restarts it on its next use.
      t.running.boxes.process('txn').kill('SIGKILL');
      await expect
        .poll(
          async () =>
            ((await raw(t, 'GET', '/v1/health')).body as { boxes: Record<string, string> }).boxes
              .txn,
        )
        .toBe('down');
    });

    it('answers CSV and PEM as text and a sign-out as an empty 204, under the typed routes', async () => {
      const c = await t.mailer();
      await c.refill({
        amountCents: 1_000,
        cardNumber: CARD,
        idempotencyKey: 'documents-refill-1',
      });
      const bought = (await c.dispense({ pieces: [piece()] })).pieces[0]!;
      const csv = await raw(t, 'GET', '/v1/history.csv', { token: c.token });
      expect(csv.status).toBe(200);
      expect(csv.text).toContain(bought.pieceId);
      expect(csv.text.startsWith('"')).toBe(false); // not a JSON string
      const account = await c.account();
      const pem = await raw(t, 'GET', `/v1/certificates/${account.certificateSerial}`);
      expect(pem.status).toBe(200);
      expect(pem.text).toMatch(/^-----BEGIN CERTIFICATE-----/);
      const out = await raw(t, 'DELETE', '/v1/sessions/current', { token: c.token });
      expect([out.status, out.text]).toEqual([204, '']);
      expect(errorCode(await raw(t, 'GET', '/v1/account', { token: c.token }))).toMatch(
        /UNAUTHENTICATED|SESSION_EXPIRED/,
      );
    });

    it('serves an OpenAPI 3 document listing the routes', async () => {
      const answer = await raw(t, 'GET', '/v1/openapi.json');
      expect(answer.status).toBe(200);
      const doc = answer.body as { openapi: string; info: object; paths: Record<string, object> };
      expect(doc.openapi).toMatch(/^3\./);
      expect(doc.info).toMatchObject({ title: expect.any(String), version: expect.any(String) });
      for (const path of [
        '/v1/signup',
        '/v1/sessions',
        '/v1/account',
        '/v1/refills',
        '/v1/pieces',
        '/v1/refunds',
        '/v1/history',
        '/v1/verify',
        '/v1/scans',
        '/v1/certificates/{serial}',
        '/v1/admin/alerts',
      ])
        expect(doc.paths, path).toHaveProperty([path]);
      expect(doc.paths['/v1/pieces']).toHaveProperty(['post', 'requestBody']);
    });
  });
});
