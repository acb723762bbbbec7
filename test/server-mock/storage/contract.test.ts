/**
 * The storage contract (server-mock/storage/storage.ts), one suite run against both engines:
 * SQLite (the threaded writer the data center runs, plus a second connection to the same file)
 * and PostgreSQL (a real server, two storage instances standing for two API nodes). Every method,
 * the schema's invariants (one piece per meter and ascending register, one per mailer and
 * idempotency key, one claim per piece), money past 2^31, and two writers racing on one meter.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { MeterRecord } from '../../../server-mock/boxes/api';
import { GROUND_ADVANTAGE_ONE_POUND_OR_MORE, impbServiceType } from '../../../shared/tracking';
import { MIGRATIONS } from '../../../server-mock/storage/migrations';
import { PG_MIGRATIONS } from '../../../server-mock/storage/pg-migrations';
import { PgStorage } from '../../../server-mock/storage/pg-storage';
import { SqliteStorage } from '../../../server-mock/storage/sqlite-storage';
import {
  StorageConflictError,
  type MailerRow,
  type PieceRow,
  type Storage,
} from '../../../server-mock/storage/storage';
import { openThreadedStorage } from '../../../server-mock/storage/threaded-storage';
import { withAllocatedTrackingNumbers } from '../../../server-mock/storage/tracking-numbers';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';
import { mailerRow } from '../../helpers/storage-rows';

interface Engine {
  name: string;
  /** A fresh database: the storage a node uses, and a second one on the same database. */
  open(): Promise<{ a: Storage; b: Storage; close(): Promise<void> }>;
}

let postgres: PostgresServer | undefined;
const dirs: string[] = [];

const engines: Engine[] = [
  {
    name: 'SQLite',
    async open() {
      const dir = mkdtempSync(join(tmpdir(), 'vpm-contract-'));
      dirs.push(dir);
      const file = join(dir, 'datacenter.db');
      const a = await openThreadedStorage(file);
      const b = new SqliteStorage(file);
      return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
    },
  },
  {
    name: 'PostgreSQL',
    async open() {
      const url = await (postgres as PostgresServer).createDatabase();
      const [a, b] = await Promise.all([PgStorage.open(url), PgStorage.open(url)]);
      return { a, b, close: async () => void (await Promise.all([a.close(), b.close()])) };
    },
  },
];

beforeAll(async () => {
  postgres = await startPostgres({ durable: false });
}, 120_000);
afterAll(async () => {
  await postgres?.stop();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const BIG = 2 ** 40 + 7; // past 2^31 and 2^32: BIGINT on PostgreSQL, a 64-bit integer on SQLite
let seq = 0;

function mailer(overrides: Partial<MailerRow> = {}): MailerRow {
  return mailerRow(String(++seq), overrides);
}

function record(serial: string, accountId: string, fields: Partial<MeterRecord> = {}): MeterRecord {
  return {
    serial,
    accountId,
    status: 'active',
    demo: false,
    ascendingCents: 0,
    descendingCents: 0,
    creditedCents: 0,
    counter: 0,
    wrappedKey: 'd3JhcHBlZA==',
    certificateSerial: serial
      .toLowerCase()
      .replace(/[^0-9a-f]/g, '0')
      .padStart(16, '0')
      .slice(-16),
    keyVersion: 1,
    macPeriod: '2026-12',
    mac: 'bWFj',
    ...fields,
  };
}

function piece(rec: MeterRecord, n: number, fields: Partial<PieceRow> = {}): PieceRow {
  const indicium = new Uint8Array(Array.from({ length: 40 }, (_, i) => (i * 7 + n) % 256));
  return {
    pieceId: `${rec.serial}-p${n}`,
    meterSerial: rec.serial,
    mailerId: rec.accountId,
    idempotencyKey: `key-${n}`,
    indicium,
    signature: indicium.slice(20),
    postageCents: 73,
    ascendingCents: 73 * n,
    descendingCents: 10_000 - 73 * n,
    mailClass: 'first-class',
    originZip: '94107',
    destinationZip: '10001',
    mailingDate: '2026-12-01',
    createdAt: `2026-12-01T10:00:0${n % 10}.000Z`,
    status: 'issued',
    ...fields,
  };
}

let meterNo = 0;
/** A mailer with a meter, its record stored at counter 0. */
async function meterFor(s: Storage, fields: Partial<MeterRecord> = {}) {
  const m = mailer();
  await s.createMailer(m);
  const serial = `VPM${String(++meterNo).padStart(9, '0')}`;
  const rec = record(serial, m.id, fields);
  await s.insertMeter(
    m.id,
    rec,
    `-----BEGIN CERTIFICATE-----\n${serial}\n-----END CERTIFICATE-----\n`,
  );
  return { mailer: m, rec };
}

const next = (rec: MeterRecord, fields: Partial<MeterRecord> = {}): MeterRecord => ({
  ...rec,
  counter: rec.counter + 1,
  mac: `mac-${rec.counter + 1}`,
  ...fields,
});

const receipt = { receipt: '{"kind":"x"}', signature: 'sig' };

it('has the same schema versions on both engines', () => {
  expect(PG_MIGRATIONS.length).toBe(MIGRATIONS.length);
});

describe.each(engines)('Storage on $name', (engine) => {
  let db: Awaited<ReturnType<Engine['open']>>;
  let s: Storage;
  beforeAll(async () => {
    db = await engine.open();
  }, 60_000);
  afterAll(async () => db?.close());
  beforeEach(() => {
    s = db.a;
  });

  describe('sign-on failure counts', () => {
    it('counts every failure once from both writers at once, forgets and drops old counts, clears one', async () => {
      const [x, y] = [`x-${++meterNo}`, `y-${meterNo}`];
      const T = 1_000_000;
      await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? db.a : db.b).addSignOnFailures([x], T + i, 0),
        ),
      );
      const [counted] = await db.b.signOnFailures([x], 0);
      expect(counted?.failures).toBe(20);
      expect(await db.a.addSignOnFailures([y, x], T + 100, 0)).toEqual([
        { failures: 1, lastAt: T + 100 },
        { failures: 21, lastAt: T + 100 },
      ]);
      expect(await db.b.signOnFailures([x, y, `z-${meterNo}`], T + 100)).toEqual([
        { failures: 21, lastAt: T + 100 },
        { failures: 1, lastAt: T + 100 },
        undefined,
      ]);
      // Last moved before forgetBefore: not read, counted again from 1, and dropped from the table.
      expect(await db.a.signOnFailures([x], T + 101)).toEqual([undefined]);
      expect(await db.b.addSignOnFailures([x], T + 200, T + 150)).toEqual([
        { failures: 1, lastAt: T + 200 },
      ]);
      expect(await db.a.signOnFailures([y], 0)).toEqual([undefined]);
      await db.a.clearSignOnFailures(x);
      expect(await db.b.signOnFailures([x], 0)).toEqual([undefined]);
    });
  });

  describe('mailers', () => {
    it('stores, finds and updates a mailer; a taken user name is refused as UNIQUE', async () => {
      const m = mailer({ autoRefillCents: BIG, lowBalanceCents: BIG });
      await s.createMailer(m);
      expect(await s.getMailer(m.id)).toEqual(m);
      expect(await s.findMailerByUsername(m.username)).toEqual(m);
      expect(await s.findMailerByUsername('nobody')).toBeUndefined();
      await expect(s.createMailer({ ...m, id: 'other-id' })).rejects.toThrow(/UNIQUE/);
      expect(await s.getMailer('other-id')).toBeUndefined();

      await s.updateMailerSettings(m.id, { lowBalanceCents: 500, autoRefillCents: 2500 });
      await s.setCardToken(m.id, 'tok_1');
      expect(await db.b.getMailer(m.id)).toMatchObject({
        lowBalanceCents: 500,
        autoRefillCents: 2500,
        cardToken: 'tok_1',
      });
      await s.updateMailerSettings(m.id, {
        lowBalanceCents: 0,
        autoRefillCents: null,
        cardToken: null,
      });
      expect(await s.getMailer(m.id)).toMatchObject({ autoRefillCents: null, cardToken: null });
    });
  });

  describe('meters and certificates', () => {
    it('stores a meter with its record and certificate, found by serial and by mailer', async () => {
      const { mailer: m, rec } = await meterFor(s, { descendingCents: BIG, creditedCents: BIG });
      expect(await s.getMeterRecord(rec.serial)).toEqual(rec);
      expect(await db.b.getMeterByMailer(m.id)).toEqual(rec);
      expect(await s.getMeterRecord('VPM999999999')).toBeUndefined();
      expect(await s.certificate(rec.certificateSerial)).toContain(rec.serial);
      expect(await s.certificate('ffffffffffffffff')).toBeUndefined();
    });

    it('pages certificates in serial order', async () => {
      const all = await s.certificatesPage(undefined, 1000);
      const serials = Object.keys(all);
      expect(serials.length).toBeGreaterThanOrEqual(1);
      expect([...serials].sort()).toEqual(serials);
      const first = await s.certificatesPage(undefined, 1);
      const after = await s.certificatesPage(Object.keys(first)[0], 1000);
      expect({ ...first, ...after }).toEqual(all);
    });
  });

  describe('getDispenseState()', () => {
    it('reads the record and the pieces asked for, in order, none where none is stored', async () => {
      const { rec } = await meterFor(s, { descendingCents: BIG });
      const after = next(rec, { ascendingCents: 146, descendingCents: BIG - 146 });
      const [p1, p2] = [piece(rec, 1), piece(rec, 2)];
      await s.commitDispense({
        kind: 'dispense',
        record: after,
        expectedCounter: 0,
        pieces: [p1, p2],
      });
      const state = await db.b.getDispenseState(rec.serial, [p2.pieceId, 'nobody', p1.pieceId]);
      expect(state?.record).toEqual(after);
      expect(state?.pieces).toEqual([p2, undefined, p1]);
      expect((await db.b.getDispenseState(rec.serial, ['nobody']))?.pieces).toEqual([undefined]);
      expect(await db.b.getDispenseState('VPM999999999', [p1.pieceId])).toBeUndefined();
    });
  });

  describe('commitDispense()', () => {
    it('stores the new record and its pieces, bytes and money intact past 2^31', async () => {
      const { rec } = await meterFor(s, { descendingCents: BIG });
      const after = next(rec, { ascendingCents: BIG, descendingCents: 7 });
      const p = piece(rec, 1, { postageCents: BIG, ascendingCents: BIG, descendingCents: 7 });
      await s.commitDispense({ kind: 'dispense', record: after, expectedCounter: 0, pieces: [p] });
      expect(await db.b.getMeterRecord(rec.serial)).toEqual(after);
      const stored = await db.b.getPiece(p.pieceId);
      expect(stored).toEqual(p);
      expect(Buffer.from(stored!.indicium).equals(Buffer.from(p.indicium))).toBe(true);
    });

    it('refuses a record whose stored counter moved, and stores nothing of it', async () => {
      const { rec } = await meterFor(s);
      await expect(
        s.commitDispense({
          kind: 'dispense',
          record: next(rec, { counter: 2 }),
          expectedCounter: 1,
          pieces: [piece(rec, 1)],
        }),
      ).rejects.toBeInstanceOf(StorageConflictError);
      expect(await s.getMeterRecord(rec.serial)).toEqual(rec);
      expect(await s.getPiece(piece(rec, 1).pieceId)).toBeUndefined();
    });

    it('refuses a second piece at the same ascending register of a meter, whole', async () => {
      const { rec } = await meterFor(s);
      await s.commitDispense({
        kind: 'dispense',
        record: next(rec),
        expectedCounter: 0,
        pieces: [piece(rec, 1)],
      });
      const again = piece(rec, 2, { ascendingCents: piece(rec, 1).ascendingCents });
      await expect(
        s.commitDispense({
          kind: 'dispense',
          record: next(next(rec)),
          expectedCounter: 1,
          pieces: [again],
        }),
      ).rejects.toThrow(/UNIQUE/);
      expect((await s.getMeterRecord(rec.serial))?.counter).toBe(1);
      expect(await s.getPiece(again.pieceId)).toBeUndefined();
    });

    it('refuses a second piece with the same idempotency key of a mailer', async () => {
      const { rec } = await meterFor(s);
      await s.commitDispense({
        kind: 'dispense',
        record: next(rec),
        expectedCounter: 0,
        pieces: [piece(rec, 1)],
      });
      await expect(
        s.commitDispense({
          kind: 'dispense',
          record: next(next(rec)),
          expectedCounter: 1,
          pieces: [piece(rec, 2, { idempotencyKey: 'key-1' })],
        }),
      ).rejects.toThrow(/UNIQUE/);
      expect(await s.getPiece(piece(rec, 2).pieceId)).toBeUndefined();
    });

    it('keeps the signed postal report in the outbox until a receipt covers it', async () => {
      const { rec } = await meterFor(s);
      const before = (await s.postalOutbox(1000)).length;
      const seq = 1_000_000 + meterNo;
      await s.commitDispense({
        kind: 'dispense',
        record: next(rec),
        expectedCounter: 0,
        pieces: [piece(rec, 1)],
        report: { seq, body: '{"seq":1}', signature: 'sig' },
      });
      const outbox = await db.b.postalOutbox(1000);
      expect(outbox).toHaveLength(before + 1);
      expect(outbox.at(-1)).toEqual({ seq, body: '{"seq":1}', signature: 'sig' });
      await s.clearPostalOutbox(seq);
      expect(await s.postalOutbox(1000)).toEqual([]);
    });
  });

  describe('history', () => {
    it('pages a mailer’s pieces newest first, filters without regard to case, and lists all', async () => {
      const { mailer: m, rec } = await meterFor(s);
      const pieces = [1, 2, 3].map((n) =>
        piece(rec, n, { mailClass: n === 2 ? 'Priority' : 'first-class' }),
      );
      await s.commitDispense({ kind: 'dispense', record: next(rec), expectedCounter: 0, pieces });
      const page1 = await s.history(m.id, 1, 2);
      expect(page1.total).toBe(3);
      expect(page1.items.map((p) => p.pieceId)).toEqual([pieces[2]!.pieceId, pieces[1]!.pieceId]);
      expect((await s.history(m.id, 2, 2)).items.map((p) => p.pieceId)).toEqual([
        pieces[0]!.pieceId,
      ]);
      const found = await s.history(m.id, 1, 10, 'PRIOR');
      expect(found.total).toBe(1);
      expect(found.items[0]?.pieceId).toBe(pieces[1]!.pieceId);
      expect((await s.history(m.id, 1, 10, '100%')).total).toBe(0);
      const all: string[] = [];
      for await (const p of s.allPieces(m.id)) all.push(p.pieceId);
      expect(all).toEqual(pieces.map((p) => p.pieceId));
    });
  });

  describe('tracking numbers', () => {
    it('hands out disjoint serials, also to concurrent callers', async () => {
      const first = await s.allocateTrackingSerials(3);
      const blocks = await Promise.all([1, 2, 3, 4].map(() => s.allocateTrackingSerials(2)));
      for (const block of [first, ...blocks]) {
        expect(block.every((n) => Number.isSafeInteger(n) && n >= 1)).toBe(true);
        expect([...block].sort((a, b) => a - b)).toEqual(block);
      }
      expect(blocks.map((b) => b.length)).toEqual([2, 2, 2, 2]);
      const all = [...first, ...blocks.flat()];
      expect(all).toHaveLength(11);
      expect(new Set(all).size).toBe(all.length);
      await expect(s.allocateTrackingSerials(0)).rejects.toThrow(/count/);
    });

    it('numbers the pieces that have none from one call of serials, and keeps those they have', async () => {
      // What a recovered dispense's pieces get (meter-gateway.ts), and PostgreSQL's commit.
      const { rec } = await meterFor(s);
      const [before] = await s.allocateTrackingSerials(1);
      const tracked = piece(rec, 2, { trackingNumber: '9405590000000000000017' });
      const numbered = await withAllocatedTrackingNumbers(
        s,
        [piece(rec, 1), tracked, piece(rec, 3, { mailClass: 'priority' })],
        '900000001',
      );
      expect(numbered[0]?.trackingNumber).toMatch(/^[0-9]{20}$/);
      expect(numbered[1]).toBe(tracked);
      expect(numbered[2]?.trackingNumber).toMatch(/^9[0-9]{21}$/);
      // Two serials taken, for the two without a number; none when every piece has one.
      expect(await s.allocateTrackingSerials(1)).toEqual([(before as number) + 3]);
      expect(await withAllocatedTrackingNumbers(s, [tracked], '900000001')).toEqual([tracked]);
      expect(await s.allocateTrackingSerials(1)).toEqual([(before as number) + 4]);
    });

    it('keeps a piece’s tracking number and finds the piece by it in the history', async () => {
      const { mailer: m, rec } = await meterFor(s);
      const tracked = piece(rec, 1, { trackingNumber: '9405590000000000000017' });
      const plain = piece(rec, 2);
      await s.commitDispense({
        kind: 'dispense',
        record: next(rec),
        expectedCounter: 0,
        pieces: [tracked, plain],
      });
      expect((await s.getPiece(tracked.pieceId))?.trackingNumber).toBe(tracked.trackingNumber);
      expect((await s.getPiece(plain.pieceId))?.trackingNumber).toBeUndefined();
      const found = await s.history(m.id, 1, 10, '94055900000');
      expect(found.items.map((p) => p.pieceId)).toEqual([tracked.pieceId]);
    });

    it('gives each piece of a dispense a tracking number in its commit, distinct across writers', async () => {
      // Concurrent dispenses on both "nodes" (a and b) and on several meters: the group commit
      // (SQLite) or the engine's row lock (PostgreSQL) never hands one serial out twice.
      const meters = await Promise.all([1, 2, 3, 4].map(() => meterFor(s)));
      const answers = await Promise.all(
        meters.map(({ rec }, i) =>
          (i % 2 ? db.b : db.a).commitDispense({
            kind: 'dispense',
            record: next(rec),
            expectedCounter: 0,
            pieces: [
              piece(rec, 1),
              piece(rec, 2, { mailClass: 'priority' }),
              piece(rec, 3, { trackingNumber: '9405590000000000000017' }),
            ],
            trackingMailerId: '900000001',
          }),
        ),
      );
      const given = answers.flatMap((a) => a.slice(0, 2));
      expect(new Set(given).size).toBe(8);
      for (const a of answers) {
        expect(a[0]).toMatch(/^[0-9]{20}$/); // a letter: the IMb tracking code
        expect(a[1]).toMatch(/^9[0-9]{21}$/); // a package: IMpb
        expect(a[2]).toBe('9405590000000000000017'); // one it had is kept
      }
      const { rec } = meters[0]!;
      const stored = await Promise.all([1, 2].map((n) => s.getPiece(`${rec.serial}-p${n}`)));
      expect(stored.map((p) => p?.trackingNumber)).toEqual(answers[0]!.slice(0, 2));
      // A refused commit stores no piece and no number; the next serials are still new.
      await expect(
        s.commitDispense({
          kind: 'dispense',
          record: next(rec, { counter: 9 }),
          expectedCounter: 0,
          pieces: [piece(rec, 9)],
          trackingMailerId: '900000001',
        }),
      ).rejects.toThrow(/changed during the transaction/);
      expect(await s.getPiece(`${rec.serial}-p9`)).toBeUndefined();
      const later = await s.commitDispense({
        kind: 'dispense',
        record: next(next(rec)),
        expectedCounter: 1,
        pieces: [piece(rec, 4)],
        trackingMailerId: '900000001',
      });
      expect(given).not.toContain(later[0]);
      // The weight the mailer gave picks USPS Ground Advantage's service type (not stored).
      const [light, heavy] = await s.commitDispense({
        kind: 'dispense',
        record: next(next(next(rec))),
        expectedCounter: 2,
        pieces: [
          piece(rec, 5, { mailClass: 'ground-advantage', weightOz: 15 }),
          piece(rec, 6, { mailClass: 'ground-advantage', weightOz: 16 }),
        ],
        trackingMailerId: '900000001',
      });
      expect(light?.slice(2, 5)).toBe(impbServiceType('ground-advantage', 15));
      expect(heavy?.slice(2, 5)).toBe(GROUND_ADVANTAGE_ONE_POUND_OR_MORE);
      expect(light?.slice(2, 5)).not.toBe(GROUND_ADVANTAGE_ONE_POUND_OR_MORE);
    });

    it('in dispenses committed together, a refused one changes nothing and the others are stored', async () => {
      // Sent in one turn: on SQLite one group commit (a SAVEPOINT each), on PostgreSQL each its own.
      const [x, bad, y] = await Promise.all([1, 2, 3].map(() => meterFor(s)));
      const commit = (rec: MeterRecord, expectedCounter: number) =>
        s.commitDispense({
          kind: 'dispense',
          record: next(rec),
          expectedCounter,
          pieces: [piece(rec, 1), piece(rec, 2)],
          trackingMailerId: '900000001',
        });
      const alertsBefore = (await s.listAlerts()).length;
      const settled = await Promise.allSettled([
        commit(x!.rec, 0),
        s.addAlert({ meterSerial: x!.rec.serial, code: 'BATCHED', reason: 'in the same commit' }),
        commit(bad!.rec, 5), // not the stored counter: refused
        commit(y!.rec, 0),
      ]);
      expect(settled.map((r) => r.status)).toEqual([
        'fulfilled',
        'fulfilled',
        'rejected',
        'fulfilled',
      ]);
      // Every other write of the batch is stored once (SQLite runs the batch again without it).
      expect((await s.listAlerts()).length).toBe(alertsBefore + 1);
      const numbers = [settled[0], settled[3]].flatMap((r) =>
        r?.status === 'fulfilled' ? (r.value as (string | null)[]) : [],
      );
      expect(new Set(numbers).size).toBe(4);
      for (const { rec } of [x!, y!]) {
        expect((await s.getMeterRecord(rec.serial))?.counter).toBe(1);
        expect((await s.getPiece(`${rec.serial}-p2`))?.trackingNumber).toMatch(/^[0-9]{20}$/);
      }
      expect((await s.getMeterRecord(bad!.rec.serial))?.counter).toBe(0);
      expect(await s.getPiece(`${bad!.rec.serial}-p1`)).toBeUndefined();
    });
  });

  describe('credits', () => {
    it('stores a refill with its card fingerprint, amount past 2^31 intact', async () => {
      const { mailer: m, rec } = await meterFor(s);
      await s.commitCredit({
        kind: 'refill',
        record: next(rec, { descendingCents: BIG, creditedCents: BIG }),
        expectedCounter: 0,
        refill: {
          id: `refill-${rec.serial}`,
          mailerId: m.id,
          amountCents: BIG,
          cardLast4: '4242',
          cardFingerprint: 'fp',
          createdAt: '2026-12-01T10:00:00.000Z',
          ...receipt,
        },
      });
      expect(await db.b.getRefill(`refill-${rec.serial}`)).toEqual({
        id: `refill-${rec.serial}`,
        amountCents: BIG,
        cardFingerprint: 'fp',
      });
      expect((await s.getMeterRecord(rec.serial))?.descendingCents).toBe(BIG);
      expect(await s.getRefill('no-such-refill')).toBeUndefined();
    });

    it('refunds a piece once: the piece is refunded and holds the refund claim', async () => {
      const { rec } = await meterFor(s);
      const p = piece(rec, 1);
      const r1 = next(rec);
      await s.commitDispense({ kind: 'dispense', record: r1, expectedCounter: 0, pieces: [p] });
      expect(await s.claimForRefund(p.pieceId, '2026-12-01T11:00:00.000Z')).toBe('claimed');
      expect(await s.claimForRefund(p.pieceId, '2026-12-01T11:00:01.000Z')).toBe('claimed');
      const refund = {
        pieceId: p.pieceId,
        amountCents: p.postageCents,
        createdAt: '2026-12-01T11:00:00.000Z',
        ...receipt,
      };
      await s.commitCredit({ kind: 'refund', record: next(r1), expectedCounter: 1, refund });
      expect((await s.getPiece(p.pieceId))?.status).toBe('refunded');
      expect(await db.b.claimOf(p.pieceId)).toMatchObject({ kind: 'refund', seen: 0 });
      await expect(
        s.commitCredit({ kind: 'refund', record: next(next(r1)), expectedCounter: 2, refund }),
      ).rejects.toThrow();
      expect((await s.getMeterRecord(rec.serial))?.counter).toBe(2);
    });

    it('refuses the refund of a piece the post office scanned', async () => {
      const { rec } = await meterFor(s);
      const p = piece(rec, 1);
      await s.commitDispense({
        kind: 'dispense',
        record: next(rec),
        expectedCounter: 0,
        pieces: [p],
      });
      expect(await s.noteScan(p.pieceId, 'sfo-1', '2026-12-02T08:00:00.000Z')).toBeUndefined();
      expect(await s.claimForRefund(p.pieceId, '2026-12-02T09:00:00.000Z')).toBe('scanned');
      await expect(
        s.commitCredit({
          kind: 'refund',
          record: next(next(rec)),
          expectedCounter: 1,
          refund: { pieceId: p.pieceId, amountCents: 73, createdAt: 'x', ...receipt },
        }),
      ).rejects.toBeInstanceOf(StorageConflictError);
      expect((await s.getPiece(p.pieceId))?.status).toBe('issued');
      expect((await s.getMeterRecord(rec.serial))?.counter).toBe(1);
    });
  });

  describe('piece claims', () => {
    it('counts acceptance scans of a piece and leaves a refunded one alone', async () => {
      const { rec } = await meterFor(s);
      const [p1, p2] = [piece(rec, 1), piece(rec, 2)];
      await s.commitDispense({
        kind: 'dispense',
        record: next(rec),
        expectedCounter: 0,
        pieces: [p1, p2],
      });
      expect(await s.claimOf(p1.pieceId)).toBeUndefined();
      expect(await s.noteScan(p1.pieceId, 'sfo-1', '2026-12-02T08:00:00.000Z')).toBeUndefined();
      expect(await db.b.noteScan(p1.pieceId, 'sfo-2', '2026-12-02T09:00:00.000Z')).toMatchObject({
        kind: 'scan',
        claimedBy: 'sfo-1',
        seen: 1,
      });
      expect(await s.claimOf(p1.pieceId)).toEqual({
        pieceId: p1.pieceId,
        kind: 'scan',
        claimedBy: 'sfo-1',
        firstAt: '2026-12-02T08:00:00.000Z',
        lastAt: '2026-12-02T09:00:00.000Z',
        seen: 2,
      });
      // A refund claim given back (the box refused) leaves the piece free for a scan.
      expect(await s.claimForRefund(p2.pieceId, '2026-12-02T08:00:00.000Z')).toBe('claimed');
      await s.releaseRefundClaim(p2.pieceId);
      expect(await s.claimOf(p2.pieceId)).toBeUndefined();
      await expect(s.noteScan('no-such-piece', 'sfo-1', 'x')).rejects.toBeInstanceOf(
        StorageConflictError,
      );
    });

    it('lets one of a scan and a refund racing on one piece through two connections win', async () => {
      const { rec } = await meterFor(s);
      const pieces = [1, 2, 3, 4, 5, 6].map((n) => piece(rec, n));
      await s.commitDispense({ kind: 'dispense', record: next(rec), expectedCounter: 0, pieces });
      for (const p of pieces) {
        const [scan, refund] = await Promise.allSettled([
          s.noteScan(p.pieceId, 'sfo-1', '2026-12-02T08:00:00.000Z'),
          db.b.claimForRefund(p.pieceId, '2026-12-02T08:00:00.000Z'),
        ]);
        const claim = await s.claimOf(p.pieceId);
        if (claim?.kind === 'scan') {
          expect(refund).toEqual({ status: 'fulfilled', value: 'scanned' });
          expect(scan.status).toBe('fulfilled');
        } else {
          expect(claim?.kind).toBe('refund');
          expect(refund).toEqual({ status: 'fulfilled', value: 'claimed' });
          // The scan came second: it counts nothing against a refund claim.
          expect(scan).toMatchObject({ status: 'fulfilled' });
        }
      }
    });
  });

  describe('commitRecovered()', () => {
    it('stores a journaled dispense, skipping pieces already stored, and a re-MAC', async () => {
      const { rec } = await meterFor(s);
      const [p1, p2] = [piece(rec, 1), piece(rec, 2)];
      const r1 = next(rec);
      await s.commitDispense({ kind: 'dispense', record: r1, expectedCounter: 0, pieces: [p1] });
      const r2 = next(r1);
      await s.commitRecovered({
        kind: 'dispense',
        record: r2,
        expectedCounter: 1,
        pieces: [p1, p2],
      });
      expect(await s.getPiece(p2.pieceId)).toEqual(p2);
      const r3 = next(r2, { macPeriod: '2027-01' });
      await s.commitRecovered({ kind: 'remac', record: r3, expectedCounter: 2 });
      expect(await db.b.getMeterRecord(rec.serial)).toEqual(r3);
      await expect(
        s.commitRecovered({ kind: 'remac', record: next(r3), expectedCounter: 2 }),
      ).rejects.toBeInstanceOf(StorageConflictError);
    });

    it('stores a journaled refill', async () => {
      const { mailer: m, rec } = await meterFor(s);
      await s.commitRecovered({
        kind: 'refill',
        record: next(rec, { descendingCents: 500 }),
        expectedCounter: 0,
        refill: {
          id: `recovered-${rec.serial}`,
          mailerId: m.id,
          amountCents: 500,
          cardLast4: '----',
          createdAt: 'x',
          ...receipt,
        },
      });
      expect(await s.getRefill(`recovered-${rec.serial}`)).toMatchObject({ amountCents: 500 });
    });
  });

  describe('logins, sessions, alerts, scanners, settings', () => {
    it('keeps the last login of a mailer', async () => {
      const m = mailer();
      await s.createMailer(m);
      expect(await s.lastLogin(m.id)).toBeUndefined();
      for (const at of ['2026-12-01T08:00:00.000Z', '2026-12-01T09:00:00.000Z'])
        await s.insertLogin({
          mailerId: m.id,
          at,
          address: '127.0.0.1',
          body: '{}',
          signature: 's',
        });
      expect(await db.b.lastLogin(m.id)).toMatchObject({
        mailerId: m.id,
        at: '2026-12-01T09:00:00.000Z',
        address: '127.0.0.1',
      });
    });

    it('stores and revokes a session', async () => {
      const session = {
        tokenHash: `th-${++seq}`,
        mailerId: 'm',
        grant: '{"g":1}',
        expiresAt: '2026-12-01T18:00:00.000Z',
        revoked: false,
      };
      await s.insertSession(session);
      expect(await db.b.getSession(session.tokenHash)).toEqual(session);
      await s.revokeSession(session.tokenHash);
      expect((await s.getSession(session.tokenHash))?.revoked).toBe(true);
      expect(await s.getSession('none')).toBeUndefined();
    });

    it('lists fraud alerts newest first', async () => {
      const a1 = await s.addAlert({ meterSerial: null, code: 'A1', reason: 'first' });
      const a2 = await db.b.addAlert({ meterSerial: 'VPM000000001', code: 'A2', reason: 'second' });
      expect(a2.id).toBeGreaterThan(a1.id);
      const listed = await s.listAlerts(2);
      expect(listed.map((a) => a.code)).toEqual(['A2', 'A1']);
      expect(listed[0]).toEqual(a2);
    });

    it('finds a scanner by its credential hash; a new token replaces the old', async () => {
      await s.addScanner('sfo-1', 'hash-1', 'x');
      expect(await s.scannerByTokenHash('hash-1')).toBe('sfo-1');
      await s.addScanner('sfo-1', 'hash-2', 'y');
      expect(await db.b.scannerByTokenHash('hash-1')).toBeUndefined();
      expect(await db.b.scannerByTokenHash('hash-2')).toBe('sfo-1');
    });

    it('keeps the administrator token hash', async () => {
      await s.setAdminTokenHash('h1');
      await s.setAdminTokenHash('h2');
      expect(await db.b.adminTokenHash()).toBe('h2');
    });
  });

  describe('two writers on one meter', () => {
    it('never both commit a dispense from the same record (one register, one piece)', async () => {
      const { rec } = await meterFor(s);
      let current = rec;
      for (let round = 1; round <= 12; round++) {
        // Both "nodes" read counter n and commit a piece at the same ascending register.
        const attempt = (by: Storage, who: string) =>
          by.commitDispense({
            kind: 'dispense',
            record: next(current, { ascendingCents: 73 * round, mac: `${who}-${round}` }),
            expectedCounter: current.counter,
            pieces: [
              piece(current, round, {
                pieceId: `${who}-${round}-${rec.serial}`,
                idempotencyKey: `${who}-${round}`,
              }),
            ],
          });
        const results = await Promise.allSettled([attempt(db.a, 'a'), attempt(db.b, 'b')]);
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
        expect(String(refused.reason)).toMatch(
          /changed during the transaction|UNIQUE|busy|locked/i,
        );
        current = (await s.getMeterRecord(rec.serial)) as MeterRecord;
        expect(current.counter).toBe(round);
      }
      const { total } = await s.history(rec.accountId, 1, 100);
      expect(total).toBe(12);
    });
  });
});

describe('PostgreSQL meter lock', () => {
  it('runs one meter’s read → commit alone across two storage instances (two nodes)', async () => {
    const url = await (postgres as PostgresServer).createDatabase();
    const [a, b] = await Promise.all([PgStorage.open(url), PgStorage.open(url)]);
    try {
      const { rec } = await meterFor(a);
      // Each "node" reads the record, waits (the meter box), and commits counter + 1: without a
      // lock held across nodes, two would read the same counter and one commit would be refused.
      const step = async (by: Storage) =>
        by.withMeterLock(rec.serial, async () => {
          const current = (await by.getMeterRecord(rec.serial)) as MeterRecord;
          await new Promise((resolve) => setTimeout(resolve, 5));
          await by.commitDispense({
            kind: 'dispense',
            record: next(current),
            expectedCounter: current.counter,
            pieces: [],
          });
        });
      await Promise.all(Array.from({ length: 16 }, (_, i) => step(i % 2 ? a : b)));
      expect((await a.getMeterRecord(rec.serial))?.counter).toBe(16);
      // Another meter is not held up by this one's lock.
      const other = await meterFor(a);
      let inner = false;
      await a.withMeterLock(rec.serial, async () => {
        await b.withMeterLock(other.rec.serial, async () => {
          inner = true;
        });
      });
      expect(inner).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('refuses with "try again" a request that waits too long for a meter another node holds', async () => {
    const url = await (postgres as PostgresServer).createDatabase();
    const a = await PgStorage.open(url);
    const b = await PgStorage.open(url, { meterLockTimeoutMs: 200 });
    try {
      const { rec } = await meterFor(a);
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let entered!: () => void;
      const inside = new Promise<void>((resolve) => (entered = resolve));
      const holder = a.withMeterLock(rec.serial, async () => {
        entered();
        await held;
      });
      await inside;
      let ran = false;
      await expect(
        b.withMeterLock(rec.serial, async () => {
          ran = true;
        }),
      ).rejects.toMatchObject({ code: 'STORAGE_UNAVAILABLE', message: /try again/ });
      expect(ran).toBe(false);
      release();
      await holder;
      await b.withMeterLock(rec.serial, async () => {
        ran = true;
      });
      expect(ran).toBe(true);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('migrates once when nodes open a new database together, and records its version', async () => {
    const url = await (postgres as PostgresServer).createDatabase();
    const opened = await Promise.all([1, 2, 3].map(() => PgStorage.open(url)));
    expect(await opened[0]!.schemaVersion()).toBe(PG_MIGRATIONS.length);
    await Promise.all(opened.map((o) => o.close()));
  });

  it('upgrades a database whose serials came from the counter: none is given twice', async () => {
    const url = await (postgres as PostgresServer).createDatabase();
    // A database of version 6, whose counter has handed out serials 1 to 41.
    const old = new pg.Client({ connectionString: url });
    await old.connect();
    try {
      await old.query('CREATE TABLE schema_version (version INTEGER NOT NULL)');
      for (const sql of PG_MIGRATIONS.slice(0, 6)) await old.query(sql);
      await old.query('INSERT INTO schema_version VALUES (6)');
      await old.query("UPDATE counters SET value = 41 WHERE name = 'tracking'");
    } finally {
      await old.end();
    }
    const s = await PgStorage.open(url);
    try {
      expect(await s.schemaVersion()).toBe(PG_MIGRATIONS.length);
      expect(await s.allocateTrackingSerials(2)).toEqual([42, 43]);
    } finally {
      await s.close();
    }
  });
});
