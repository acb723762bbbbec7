/**
 * The meter box (patent Fig. 4, steps 200–265) and the steel box that creates its meters, run as
 * real box processes against a fresh data directory.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeIndicium } from '../../../shared/indicium/codec';
import * as x509 from '@peculiar/x509';
import { certificateSerialHex, verifyIndicium } from '../../../shared/indicium/verify';
import {
  MAX_PIECES_PER_COMMAND,
  recordDigest,
  type MeterRecord,
} from '../../../server-mock/boxes/index';
import {
  expectBoxError,
  forge,
  freshBoxes,
  fundedMeter,
  piece,
  type Fixture,
  mailerAuth,
} from './helpers';

x509.cryptoProvider.set(globalThis.crypto);

let fx: Fixture;
beforeAll(async () => {
  fx = await freshBoxes();
});
afterAll(async () => {
  await fx.dispose();
});

const rid = (): string => randomUUID();

describe('SteelBox', () => {
  describe('createMeter()', () => {
    it('creates a meter with zero registers, counter 0 and a certificate from the vendor CA', async () => {
      const { record, certificatePem } = await fx.boxes.steel.createMeter({
        accountId: 'acct-1',
        demo: false,
      });
      expect(record.serial).toMatch(/^VPM\d{9}$/);
      expect(record).toMatchObject({
        ascendingCents: 0,
        descendingCents: 0,
        creditedCents: 0,
        counter: 0,
        status: 'active',
        keyVersion: 1,
      });
      const cert = new x509.X509Certificate(certificatePem);
      const ca = new x509.X509Certificate((await fx.boxes.steel.vendorCa()).certificatePem);
      expect(cert.subject).toBe(`CN=${record.serial}`);
      expect(cert.issuer).toBe(ca.subject);
      expect(certificateSerialHex(cert)).toBe(record.certificateSerial);
      expect(await cert.verify({ publicKey: ca.publicKey })).toBe(true);
    });

    it('gives unique serials, and demo meters a VPD serial', async () => {
      const a = await fx.boxes.steel.createMeter({ accountId: 'acct-2', demo: false });
      const b = await fx.boxes.steel.createMeter({ accountId: 'acct-2', demo: false });
      const d = await fx.boxes.steel.createMeter({ accountId: 'acct-2', demo: true });
      expect(a.record.serial).not.toBe(b.record.serial);
      expect(d.record.serial).toMatch(/^VPD\d{9}$/);
      expect(d.record.demo).toBe(true);
    });

    it('refuses malformed arguments with BAD_REQUEST', async () => {
      await expectBoxError(
        fx.boxes.steel.createMeter({ accountId: '', demo: false }),
        'BAD_REQUEST',
      );
      await expectBoxError(
        fx.boxes.steel.createMeter({ accountId: 'a', demo: 'no' as never }),
        'BAD_REQUEST',
      );
      await expectBoxError(
        fx.boxes.steel.createMeter({ accountId: 'a', demo: false, x: 1 } as never),
        'BAD_REQUEST',
      );
    });
  });
});

describe('MeterBox', () => {
  describe('dispense()', () => {
    it('issues one signed indicium per piece, each with its own ascending register value', async () => {
      const { record, certificatePem } = await fx.boxes.steel.createMeter({
        accountId: (await mailerAuth(fx.boxes)).grant.mailerId,
        demo: false,
      });
      const funded = await fx.boxes.meter.credit({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record,
        amountCents: 1000,
        credit: { kind: 'refill', refillId: 'refill-1' },
      });
      const pieces = [
        piece({ postageCents: 73 }),
        piece({ postageCents: 100 }),
        piece({ postageCents: 27, mailClass: 'priority' }),
      ];
      const result = await fx.boxes.meter.dispense({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record: funded.record,
        pieces,
      });
      expect(result.record).toMatchObject({
        ascendingCents: 200,
        descendingCents: 800,
        creditedCents: 1000,
        counter: 2,
      });
      expect(result.indicia.map((i) => i.ascendingCents)).toEqual([73, 173, 200]);
      expect(result.indicia.map((i) => i.descendingCents)).toEqual([927, 827, 800]);
      const { certificatePem: vendorCaPem } = await fx.boxes.steel.vendorCa();
      for (const [n, issued] of result.indicia.entries()) {
        const bytes = Buffer.from(issued.indicium, 'base64');
        const decoded = decodeIndicium(bytes);
        expect(decoded.fields).toMatchObject({
          deviceId: record.serial,
          certificateSerial: record.certificateSerial,
          ascendingCents: issued.ascendingCents,
          postageCents: pieces[n]!.postageCents,
          pieceId: pieces[n]!.pieceId,
          softwareId: 'VPM1',
          demo: false,
        });
        const verdict = await verifyIndicium(bytes, { vendorCaPem, find: () => certificatePem });
        expect(verdict.verdict, verdict.reason).toBe('valid');
      }
    });

    it('marks the indicia of a demo meter as demo samples', async () => {
      const record = await fundedMeter(fx.boxes, 500, true);
      const { indicia } = await fx.boxes.meter.dispense({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record,
        pieces: [piece()],
      });
      expect(decodeIndicium(Buffer.from(indicia[0]!.indicium, 'base64')).fields.demo).toBe(true);
    });

    it('refuses INSUFFICIENT_FUNDS when the batch costs more than the descending register, and changes nothing', async () => {
      const record = await fundedMeter(fx.boxes, 100);
      await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record,
          pieces: [piece({ postageCents: 60 }), piece({ postageCents: 41 })],
        }),
        'INSUFFICIENT_FUNDS',
      );
      const ok = await fx.boxes.meter.dispense({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record,
        pieces: [piece({ postageCents: 100 })],
      });
      expect(ok.record.descendingCents).toBe(0);
    });

    it('in one batch of many meters, a refused command fails alone and two on one record never share a register', async () => {
      // Sent in one turn, these reach the box in one pipe write: one batch (or a few slices)
      // sharing NVM appends and fsyncs.
      const auth = await mailerAuth(fx.boxes);
      const rich = await Promise.all([1, 2, 3, 4].map(() => fundedMeter(fx.boxes, 1000)));
      const poor = await fundedMeter(fx.boxes, 50);
      const twice = rich[0] as MeterRecord;
      const calls = [
        ...rich.map((record) =>
          fx.boxes.meter.dispense({ auth, requestId: rid(), record, pieces: [piece()] }),
        ),
        fx.boxes.meter.dispense({
          auth,
          requestId: rid(),
          record: poor,
          pieces: [piece({ postageCents: 51 })],
        }),
        // The same record again in the same batch: the box issued from it already.
        fx.boxes.meter.dispense({ auth, requestId: rid(), record: twice, pieces: [piece()] }),
      ];
      const settled = await Promise.allSettled(calls);
      const ok = settled.slice(0, 4).map((s) => {
        expect(s.status).toBe('fulfilled');
        return (s as PromiseFulfilledResult<Awaited<(typeof calls)[0]>>).value;
      });
      for (const [i, answer] of ok.entries())
        expect(answer.record.counter).toBe((rich[i] as MeterRecord).counter + 1);
      await expectBoxError(calls[4] as Promise<unknown>, 'INSUFFICIENT_FUNDS');
      await expectBoxError(calls[5] as Promise<unknown>, 'FRESHNESS_MISMATCH');
      // The refused meter is unchanged and dispenses what it holds; the first one goes on from
      // the record it was answered, at the next register value.
      const rest = await fx.boxes.meter.dispense({
        auth,
        requestId: rid(),
        record: poor,
        pieces: [piece({ postageCents: 50 })],
      });
      expect(rest.record.descendingCents).toBe(0);
      const after = await fx.boxes.meter.dispense({
        auth,
        requestId: rid(),
        record: (ok[0] as { record: MeterRecord }).record,
        pieces: [piece()],
      });
      expect(after.indicia[0]!.ascendingCents).toBe(ok[0]!.indicia[0]!.ascendingCents + 73);
    });

    it('refuses a record whose counter is behind the NVM with FRESHNESS_MISMATCH and the NVM counter', async () => {
      const r1 = await fundedMeter(fx.boxes, 1000);
      const r2 = (
        await fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: r1,
          pieces: [piece()],
        })
      ).record;
      await fx.boxes.meter.dispense({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record: r2,
        pieces: [piece()],
      });
      const error = await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: r1,
          pieces: [piece()],
        }),
        'FRESHNESS_MISMATCH',
      );
      expect(error.details).toMatchObject({ nvmCounter: 3, recordCounter: 1, journaled: false });
    });

    it('refuses the predecessor of the journaled record, and recover() hands back the journaled one', async () => {
      const r1 = await fundedMeter(fx.boxes, 1000);
      const requestId = rid();
      const issued = await fx.boxes.meter.dispense({
        auth: await mailerAuth(fx.boxes),
        requestId,
        record: r1,
        pieces: [piece()],
      });
      // the data center "lost" issued.record (crash before its write) and retries with r1
      const error = await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: r1,
          pieces: [piece()],
        }),
        'FRESHNESS_MISMATCH',
      );
      expect(error.details).toMatchObject({ journaled: true, nvmCounter: 2 });
      const journal = await fx.boxes.meter.recover({ serial: r1.serial });
      expect(journal).toMatchObject({
        kind: 'dispense',
        requestId,
        previousDigest: recordDigest(r1),
      });
      expect(journal!.record).toEqual(issued.record);
      expect(journal?.kind === 'dispense' && journal.indicia).toEqual(issued.indicia);
      const next = await fx.boxes.meter.dispense({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record: journal!.record,
        pieces: [piece()],
      });
      expect(next.record.counter).toBe(3);
    });

    it('refuses a replayed counter-0 record once the meter has been used', async () => {
      const { record: first } = await fx.boxes.steel.createMeter({
        accountId: (await mailerAuth(fx.boxes)).grant.mailerId,
        demo: false,
      });
      await fx.boxes.meter.credit({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record: first,
        amountCents: 100,
        credit: { kind: 'refill', refillId: 'r' },
      });
      await expectBoxError(
        fx.boxes.meter.credit({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: first,
          amountCents: 100,
          credit: { kind: 'refill', refillId: 'r' },
        }),
        'FRESHNESS_MISMATCH',
      );
    });

    it('refuses UNKNOWN_METER for a MAC-valid record with counter > 0 it has no NVM entry for', async () => {
      const { record } = await fx.boxes.steel.createMeter({
        accountId: (await mailerAuth(fx.boxes)).grant.mailerId,
        demo: false,
      });
      const forged = forge(fx.dir, record, { counter: 5 });
      await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: forged,
          pieces: [piece()],
        }),
        'UNKNOWN_METER',
      );
    });

    it('refuses METER_SUSPENDED for a suspended meter but still accepts a credit', async () => {
      const { record } = await fx.boxes.steel.createMeter({
        accountId: (await mailerAuth(fx.boxes)).grant.mailerId,
        demo: false,
      });
      const suspended = forge(fx.dir, record, { status: 'suspended' });
      // (first use: the forged counter-0 record is the one this box learns)
      const credited = await fx.boxes.meter.credit({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record: suspended,
        amountCents: 100,
        credit: { kind: 'refill', refillId: 'r' },
      });
      await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: credited.record,
          pieces: [piece()],
        }),
        'METER_SUSPENDED',
      );
    });

    it('refuses METER_RECORD_BAD_MAC for an altered register, a wrong MAC, or a record whose registers do not balance', async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: { ...record, descendingCents: 100_000 },
          pieces: [piece()],
        }),
        'METER_RECORD_BAD_MAC',
      );
      await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: { ...record, mac: Buffer.alloc(32).toString('base64') },
          pieces: [piece()],
        }),
        'METER_RECORD_BAD_MAC',
      );
      const unbalanced = forge(fx.dir, record, { descendingCents: 99_999 });
      await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: unbalanced,
          pieces: [piece()],
        }),
        'METER_RECORD_BAD_MAC',
      );
    });

    it('refuses METER_RECORD_BAD_MAC for a record MACed in a key period outside the window', async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      const old = forge(fx.dir, record, { macPeriod: '2019-01' });
      await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: old,
          pieces: [piece()],
        }),
        'METER_RECORD_BAD_MAC',
      );
      const future = forge(fx.dir, record, { macPeriod: '2999-12' });
      await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: future,
          pieces: [piece()],
        }),
        'METER_RECORD_BAD_MAC',
      );
    });

    it('refuses every single-byte change of a record, and still accepts the original afterwards', async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      const json = Buffer.from(JSON.stringify(record), 'utf8');
      const refusals = new Set<string>();
      const attempts: Promise<void>[] = [];
      for (let i = 0; i < json.length; i++) {
        const flipped = Buffer.from(json);
        flipped[i] = flipped[i]! ^ 0x01;
        let altered: MeterRecord;
        try {
          altered = JSON.parse(flipped.toString('utf8')) as MeterRecord;
        } catch {
          refusals.add('unparseable');
          continue;
        }
        attempts.push(
          fx.boxes.meter
            .dispense({
              auth: await mailerAuth(fx.boxes),
              requestId: rid(),
              record: altered,
              pieces: [piece()],
            })
            .then(
              () => {
                throw new Error(`byte ${i} flipped was accepted: ${flipped.toString('utf8')}`);
              },
              (e: { code: string }) => void refusals.add(e.code),
            ),
        );
      }
      await Promise.all(attempts);
      expect(
        [...refusals].every((c) =>
          ['unparseable', 'BAD_REQUEST', 'METER_RECORD_BAD_MAC'].includes(c),
        ),
      ).toBe(true);
      // The MAC failures suspended the meter; once reinstated, the original dispenses.
      await expectBoxError(
        fx.boxes.meter.dispense({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record,
          pieces: [piece()],
        }),
        'METER_SUSPENDED',
      );
      const { lifted } = await fx.boxes.meter.reinstate({ serial: record.serial, reason: 'test' });
      expect(lifted?.code).toBe('METER_RECORD_BAD_MAC');
      const ok = await fx.boxes.meter.dispense({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record,
        pieces: [piece()],
      });
      expect(ok.record.counter).toBe(record.counter + 1);
    });

    it('refuses malformed commands with BAD_REQUEST', async () => {
      const record = await fundedMeter(fx.boxes, 1000);
      const auth = await mailerAuth(fx.boxes);
      const cases: unknown[] = [
        { auth, requestId: rid(), record, pieces: [] },
        { auth, requestId: rid(), record, pieces: [piece({ postageCents: 0 })] },
        { auth, requestId: rid(), record, pieces: [piece({ postageCents: 1.5 })] },
        { auth, requestId: rid(), record, pieces: [piece({ mailClass: 'pigeon' as never })] },
        { auth, requestId: rid(), record, pieces: [piece({ originZip: '1234' })] },
        { auth, requestId: rid(), record, pieces: [piece({ mailingDate: '2025-02-30' })] },
        { auth, requestId: rid(), record, pieces: [piece({ pieceId: 'not-a-uuid' })] },
        {
          auth,
          requestId: rid(),
          record,
          pieces: [
            piece({ pieceId: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' }),
            piece({ pieceId: 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa' }),
          ],
        },
        {
          auth,
          requestId: rid(),
          record,
          pieces: Array.from({ length: MAX_PIECES_PER_COMMAND + 1 }, () => piece()),
        },
        { auth, requestId: '', record, pieces: [piece()] },
        { auth, requestId: rid(), record: { ...record, extra: 1 }, pieces: [piece()] },
        { auth, requestId: rid(), record: { ...record, ascendingCents: -1 }, pieces: [piece()] },
        { auth, requestId: rid(), record: { ...record, serial: 'vpm' }, pieces: [piece()] },
        { auth, requestId: rid(), record: { ...record, mac: 'not base64!' }, pieces: [piece()] },
        { auth, requestId: rid(), record: null, pieces: [piece()] },
        { auth, requestId: rid(), record, pieces: [piece()], extra: true },
        { requestId: rid(), record, pieces: [piece()] },
        { auth: { ...auth, extra: 1 }, requestId: rid(), record, pieces: [piece()] },
        { auth: { grant: auth.grant }, requestId: rid(), record, pieces: [piece()] },
        {
          auth: { ...auth, grant: { ...auth.grant, tokenHash: 'x' } },
          requestId: rid(),
          record,
          pieces: [piece()],
        },
        {
          auth: { ...auth, grant: { ...auth.grant, signature: 'A'.repeat(89) } },
          requestId: rid(),
          record,
          pieces: [piece()],
        },
      ];
      for (const args of cases)
        await expectBoxError(fx.boxes.meter.dispense(args as never), 'BAD_REQUEST');
      expect(
        (
          await fx.boxes.meter.dispense({
            auth: await mailerAuth(fx.boxes),
            requestId: rid(),
            record,
            pieces: [piece()],
          })
        ).record.counter,
      ).toBe(record.counter + 1);
    });
  });

  describe('credit()', () => {
    it('adds to the descending register and the credited total, and journals the credit', async () => {
      const record = await fundedMeter(fx.boxes, 250);
      const requestId = rid();
      const { record: after } = await fx.boxes.meter.credit({
        auth: await mailerAuth(fx.boxes),
        requestId,
        record,
        amountCents: 750,
        credit: { kind: 'refund', pieceId: 'refund-7' },
      });
      expect(after).toMatchObject({
        descendingCents: 1000,
        creditedCents: 1000,
        ascendingCents: 0,
        counter: record.counter + 1,
      });
      expect(await fx.boxes.meter.recover({ serial: record.serial })).toMatchObject({
        kind: 'credit',
        requestId,
        amountCents: 750,
        credit: { kind: 'refund', pieceId: 'refund-7' },
        record: after,
      });
    });

    it('refuses a non-positive or fractional amount, and a missing or malformed credit, with BAD_REQUEST', async () => {
      const record = await fundedMeter(fx.boxes, 0);
      for (const amountCents of [0, -5, 1.25]) {
        await expectBoxError(
          fx.boxes.meter.credit({
            auth: await mailerAuth(fx.boxes),
            requestId: rid(),
            record,
            amountCents,
            credit: { kind: 'refill', refillId: 'x' },
          }),
          'BAD_REQUEST',
        );
      }
      await expectBoxError(
        fx.boxes.meter.credit({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record,
          amountCents: 5,
          credit: { kind: 'refill', refillId: '' },
        }),
        'BAD_REQUEST',
      );
      for (const credit of [
        { kind: 'gift', refillId: 'x' },
        { kind: 'refund', refillId: 'x' },
        'refill:x',
      ])
        await expectBoxError(
          fx.boxes.meter.credit({
            auth: await mailerAuth(fx.boxes),
            requestId: rid(),
            record,
            amountCents: 5,
            credit: credit as never,
          }),
          'BAD_REQUEST',
        );
    });

    it('refuses an older record after a newer one was issued', async () => {
      const r1 = await fundedMeter(fx.boxes, 100);
      await fx.boxes.meter.credit({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record: r1,
        amountCents: 5,
        credit: { kind: 'refill', refillId: 'x' },
      });
      await expectBoxError(
        fx.boxes.meter.credit({
          auth: await mailerAuth(fx.boxes),
          requestId: rid(),
          record: r1,
          amountCents: 5,
          credit: { kind: 'refill', refillId: 'x' },
        }),
        'FRESHNESS_MISMATCH',
      );
    });
  });

  describe('recover()', () => {
    it('answers null for a meter the box has never seen and BAD_REQUEST for a malformed serial', async () => {
      expect(await fx.boxes.meter.recover({ serial: 'VPM999999999' })).toBeNull();
      await expectBoxError(fx.boxes.meter.recover({ serial: 'nope' }), 'BAD_REQUEST');
    });
  });

  describe('verifyIndicium()', () => {
    it('accepts an indicium it issued and rejects one with a flipped signature byte', async () => {
      const record = await fundedMeter(fx.boxes, 100);
      const { indicia } = await fx.boxes.meter.dispense({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record,
        pieces: [piece()],
      });
      const good = indicia[0]!.indicium;
      expect(await fx.boxes.meter.verifyIndicium({ indicium: good })).toEqual({
        valid: true,
        serial: record.serial,
      });
      const bytes = Buffer.from(good, 'base64');
      bytes[bytes.length - 1] = bytes[bytes.length - 1]! ^ 0xff;
      expect(await fx.boxes.meter.verifyIndicium({ indicium: bytes.toString('base64') })).toEqual({
        valid: false,
        serial: record.serial,
      });
    });

    it('refuses UNKNOWN_METER for a meter it does not know and BAD_REQUEST for unreadable bytes', async () => {
      const record = await fundedMeter(fx.boxes, 100);
      const { indicia } = await fx.boxes.meter.dispense({
        auth: await mailerAuth(fx.boxes),
        requestId: rid(),
        record,
        pieces: [piece()],
      });
      const bytes = Buffer.from(indicia[0]!.indicium, 'base64');
      bytes.set(Buffer.from('VPM999999998'), 12); // another device ID
      await expectBoxError(
        fx.boxes.meter.verifyIndicium({ indicium: bytes.toString('base64') }),
        'UNKNOWN_METER',
      );
      await expectBoxError(
        fx.boxes.meter.verifyIndicium({ indicium: Buffer.from('short').toString('base64') }),
        'BAD_REQUEST',
      );
    });
  });
});
