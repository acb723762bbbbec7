/**
 * A report the meter box signed but the database never stored (the data center stopped between
 * the box's answer and the COMMIT) is found again: the box names the meter of the missing report,
 * its journal holds the command with its report, and the outbox reaches the post in sequence, so
 * dispensing does not stall at the window edge for a meter whose owner never comes back.
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { DataCenterClient } from '../../client/services/datacenter-client';
import { approveVendor, initPostal, startPostal, type RunningPostal } from '../../postal/index';
import { initDataCenter, startDataCenter, type RunningDataCenter } from '../../server-mock/index';
import { eventually } from '../helpers/postal';

let base: string;
let postal: RunningPostal | undefined;
let running: RunningDataCenter | undefined;
const clients: DataCenterClient[] = [];
afterAll(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await running?.close();
  await postal?.close();
  await rm(base, { recursive: true, force: true });
});

it('sends a report the database missed, found through the meter box, so the post gets every report in sequence', async () => {
  base = await mkdtemp(join(tmpdir(), 'vpm-gap-'));
  const dir = join(base, 'datacenter');
  const pdir = join(base, 'post');
  const { shares, caPath } = await initDataCenter(dir);
  await initPostal(pdir);
  await approveVendor(pdir, await readFile(join(dir, 'boxes', 'vendor-ca.pem'), 'utf8'));
  postal = await startPostal({ dataDir: pdir, port: 0 });
  running = await startDataCenter({
    dataDir: dir,
    port: 0,
    shares,
    postal: { url: postal.url, caPem: await readFile(postal.caPath, 'utf8') },
  });
  const dc = running;
  const caPem = await readFile(caPath, 'utf8');
  const mailer = async (name: string) => {
    const c = new DataCenterClient({ serverUrl: dc.url, caPem, retries: 0 });
    clients.push(c);
    await c.signUp({ username: name, password: 'correct horse battery', name, originZip: '94103' });
    await c.signIn({ username: name, password: 'correct horse battery' });
    await c.refill({
      amountCents: 1000,
      cardNumber: '4242424242424242',
      idempotencyKey: `refill-${name}`,
    });
    return c;
  };
  const ann = await mailer('ann');
  const bob = await mailer('bob');
  await ann.dispense({
    pieces: [
      {
        idempotencyKey: `k-${randomUUID()}`,
        postageCents: 78,
        mailClass: 'first-class',
        destinationZip: '10001',
      },
    ],
  });
  const annSerial = (await ann.account()).meterSerial;
  const stored = await dc.dc.storage.getMeterRecord(annSerial);
  // The box answers Ann's command, and the data center "stops" before the COMMIT.
  const caller = await dc.dc.authenticate(ann.token);
  await dc.boxes.meter.dispense({
    requestId: randomUUID(),
    record: stored!,
    auth: caller.auth,
    pieces: [
      {
        pieceId: randomUUID(),
        postageCents: 50,
        mailClass: 'first-class',
        originZip: '94103',
        destinationZip: '10001',
        mailingDate: new Date().toISOString().slice(0, 10),
      },
    ],
  });
  const waiting = await dc.boxes.meter.witnessStatus();
  expect(Object.values(waiting.open)).toContain(annSerial);
  // Bob goes on printing; Ann never comes back.
  await bob.dispense({
    pieces: [
      {
        idempotencyKey: `k-${randomUUID()}`,
        postageCents: 78,
        mailClass: 'first-class',
        destinationZip: '10001',
      },
    ],
  });
  await eventually(async () => {
    const s = await dc.boxes.meter.witnessStatus();
    return s.receiptSeq === s.seq && s.seq === waiting.seq + 1;
  }, 'the post receipts every report, the missed one included');
  expect((await dc.dc.storage.getMeterRecord(annSerial))?.counter).toBe(stored!.counter + 1);
}, 180_000);
