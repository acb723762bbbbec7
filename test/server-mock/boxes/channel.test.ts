/**
 * Attacks on the channel between API nodes and the box pool (boxes/channel.ts): a process
 * without the channel key (it never held a quorum of shares) cannot talk to a shard, and a TLS
 * record replayed or altered on the way (an operator who can reach the socket) is refused: the
 * shard drops the connection and runs the command once only.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startBoxes,
  startPool,
  type BoxSet,
  type MailerAuth,
  type MeterRecord,
  type RunningPool,
} from '../../../server-mock/boxes/index';
import { channelKey, connectChannel, socketPath } from '../../../server-mock/boxes/channel';
import { RemoteBox } from '../../../server-mock/boxes/remote-box';
import { encodeFrame } from '../../../server-mock/boxes/protocol';
import { TEST_BOX_ENTRY, ceremony, expectBoxError, mailerAuth } from './helpers';
import { domainKeyOf } from '../../helpers/boxes';

const quiet = { log: () => undefined };

/**
 * A man in the middle on the Unix socket: passes the handshake through, then does `tamper` to
 * the first TLS application-data record the node sends (type 23).
 */
function tamperingProxy(
  path: string,
  target: string,
  tamper: (record: Buffer) => Buffer[],
): Promise<Server> {
  const server = createServer((client: Socket) => {
    const upstream = createConnection(target);
    upstream.pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    let buffer = Buffer.alloc(0);
    let done = false;
    client.on('data', (chunk: Buffer) => {
      if (done) return void upstream.write(chunk);
      buffer = Buffer.concat([buffer, chunk]);
      while (buffer.length >= 5 && buffer.length >= 5 + buffer.readUInt16BE(3)) {
        const record = buffer.subarray(0, 5 + buffer.readUInt16BE(3));
        buffer = buffer.subarray(record.length);
        if (!done && record[0] === 23) {
          done = true;
          for (const out of tamper(Buffer.from(record))) upstream.write(out);
        } else upstream.write(record);
      }
      if (done && buffer.length > 0) upstream.write(buffer);
    });
  });
  return new Promise((resolve) => server.listen(path, () => resolve(server)));
}

describe('box channel', () => {
  let dir: string;
  let socketDir: string;
  let shares: string[];
  let pool: RunningPool;
  let node: BoxSet;
  let auth: MailerAuth;
  let key: Buffer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vpm-chan-'));
    socketDir = join(dir, 'sockets');
    shares = await ceremony(dir);
    pool = await startPool(dir, { ...quiet, shares, socketDir, shards: 1, entry: TEST_BOX_ENTRY });
    node = await startBoxes(dir, { ...quiet, shares, pool: socketDir, entry: TEST_BOX_ENTRY });
    auth = await mailerAuth(node);
    key = channelKey(await domainKeyOf(dir, shares));
  }, 60_000);

  afterAll(async () => {
    await node?.close();
    await pool?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function freshRecord(): Promise<MeterRecord> {
    return (await node.steel.createMeter({ accountId: auth.grant.mailerId, demo: false })).record;
  }

  it('refuses a client without the channel key: no handshake, no command', async () => {
    const other = mkdtempSync(join(tmpdir(), 'vpm-chan-other-'));
    try {
      // Another data center's key: everything right except the secret.
      const wrongKey = channelKey(await domainKeyOf(other, await ceremony(other)));
      await expect(connectChannel(socketPath(socketDir, 'meter'), wrongKey)).rejects.toThrow();
      const box = new RemoteBox('meter', socketPath(socketDir, 'meter'), wrongKey);
      await expectBoxError(box.call('suspension', { serial: 'VPM000000001' }), 'BOX_UNAVAILABLE');
      box.close();
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  }, 30_000);

  it('answers nothing to plain frames without TLS', async () => {
    const socket = createConnection(socketPath(socketDir, 'steel'));
    const answer = await new Promise<string>((resolve) => {
      let got = '';
      socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
      socket.on('close', () => resolve(got));
      socket.on('error', () => undefined);
      socket.on('connect', () =>
        socket.write(
          encodeFrame({ v: 1, id: 1, cmd: 'createMeter', args: { accountId: 'x', demo: false } }),
        ),
      );
    });
    expect(answer).not.toContain('"ok":true');
  });

  for (const [attack, tamper] of [
    ['replayed', (record: Buffer) => [record, record]],
    [
      'altered',
      (record: Buffer) => {
        record[record.length - 20]! ^= 0x01;
        return [record];
      },
    ],
  ] as const) {
    it(`drops the connection on a ${attack} record, and the command runs at most once`, async () => {
      const record = await freshRecord();
      const proxyPath = join(socketDir, `mitm-${attack}.sock`);
      const proxy = await tamperingProxy(proxyPath, socketPath(socketDir, 'meter'), tamper);
      const via = new RemoteBox('meter', proxyPath, key);
      try {
        const requestId = randomUUID();
        const outcome = await via
          .call('credit', {
            requestId,
            auth,
            record,
            amountCents: 700,
            credit: { kind: 'refill', refillId: 'refill' },
          })
          .then(
            () => 'answered',
            (e: unknown) => e,
          );
        const direct = new RemoteBox('meter', socketPath(socketDir, 'meter'), key);
        const journal = await direct.call<{ requestId: string; record: MeterRecord } | null>(
          'recover',
          { serial: record.serial },
        );
        direct.close();
        if (attack === 'altered') {
          expect(outcome).toMatchObject({ code: 'BOX_UNAVAILABLE' });
          expect(journal).toBeNull(); // the altered command never ran
        } else {
          // The first copy ran once; the copy was refused and cut the connection.
          expect(journal?.requestId).toBe(requestId);
          expect(journal?.record.counter).toBe(record.counter + 1);
          // Either the answer raced the drop or the call failed: never a second credit.
          expect(
            outcome === 'answered' || (outcome as { code?: string }).code === 'BOX_UNAVAILABLE',
          ).toBe(true);
        }
      } finally {
        via.close();
        proxy.close();
      }
    });
  }
});
