/**
 * Several API nodes on one box pool and one PostgreSQL database, as real processes (`vpm
 * datacenter boxes start`, `vpm datacenter start --boxes --database` twice): any node answers any mailer; a request retried on the other
 * node with the same idempotency keys is answered once; kill -9 of one node under load: the
 * client fails over, no piece is charged twice and every indicium it received is recorded; kill
 * -9 of one meter shard: its meters fail fast with a retryable 503 and recover once the pool
 * restarted it, the other shard's meters are unaffected. Clients listing the dead node first sign
 * up, sign in and refill through the next one (a refused connection never reached a node). A
 * source guessing passwords is held by the count of its failures on all nodes together.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataCenterClient, DataCenterError } from '../../../client/services/datacenter-client';
import { shardOfSerial } from '../../../server-mock/boxes/index';
import type * as Api from '../../../shared/api/schemas';
import { startCluster, type TestCluster } from '../../helpers/nodes';
import { startPostgres, type PostgresServer } from '../../helpers/postgres';
import { vpmInProcess as vpm } from '../../helpers/cli';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { piece } from './support';

const PASSWORD = 'correct horse battery';
const CARD = '4242424242424242';

describe('several API nodes on a box pool and PostgreSQL', () => {
  let cluster: TestCluster;
  let postgres: PostgresServer;
  let caPem: string;
  const clients: DataCenterClient[] = [];
  /** The killed node's URL: kept first in later clients, which must fail over past it. */
  let deadUrl: string | undefined;

  const client = (urls: string[], token?: string, retries = 6) => {
    const c = new DataCenterClient({ serverUrl: urls.join(','), caPem, token, retries });
    clients.push(c);
    return c;
  };

  /** A signed-up, funded mailer; its client knows every node. */
  async function mailer(): Promise<{ c: DataCenterClient; serial: string }> {
    const c = client([...(deadUrl ? [deadUrl] : []), ...cluster.nodes.map((n) => n.url)]);
    const username = `m${randomUUID().slice(0, 8)}`;
    await c.signUp({ username, password: PASSWORD, name: username, originZip: '94103' });
    await c.signIn({ username, password: PASSWORD });
    const account = await c.refill({
      amountCents: 10_000,
      cardNumber: CARD,
      idempotencyKey: `r-${randomUUID()}`,
    });
    return { c, serial: account.meterSerial };
  }

  beforeAll(async () => {
    postgres = await startPostgres({ durable: false });
    cluster = await startCluster({
      shards: 2,
      nodes: 2,
      database: await postgres.createDatabase(),
    });
    caPem = await readFile(cluster.caPath, 'utf8');
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.close();
    await postgres?.stop();
  });

  it('any node answers any mailer, and a retry on the other node with the same key is answered once', async () => {
    const { c } = await mailer();
    const [a, b] = cluster.nodes.map((n) => client([n.url], c.token)) as [
      DataCenterClient,
      DataCenterClient,
    ];
    const request = { pieces: [piece(73), piece(55)] };
    const first = await a.dispense(request);
    const again = await b.dispense(request);
    expect(again.pieces.map((p) => p.indicium)).toEqual(first.pieces.map((p) => p.indicium));
    expect(again.pieces.every((p) => p.replayed)).toBe(true);
    expect(again.balanceCents).toBe(first.balanceCents);
    expect((await b.account()).balanceCents).toBe(10_000 - 128);
  });

  it('holds a guessing source to one count on every node: guesses spread over both wait as on one', async () => {
    const { c } = await mailer();
    const { username } = await c.account();
    const [a, b] = cluster.nodes.map((n) => client([n.url], undefined, 0)) as [
      DataCenterClient,
      DataCenterClient,
    ];
    const tryOn = (node: DataCenterClient, password: string) =>
      node.signIn({ username, password }).then(
        () => 'signed on',
        (error: unknown) => (error instanceof DataCenterError ? error.code : String(error)),
      );
    const guesses = [];
    for (const node of [a, b, a]) guesses.push(await tryOn(node, 'a wrong guess'));
    expect(guesses).toEqual(['BAD_CREDENTIALS', 'BAD_CREDENTIALS', 'BAD_CREDENTIALS']);
    // Three failures in all (two on one node, one on the other): this source now waits on both,
    // even with the right password.
    expect(await tryOn(b, PASSWORD)).toBe('RATE_LIMITED');
    expect(await tryOn(a, PASSWORD)).toBe('RATE_LIMITED');
  });

  it('kill -9 of one node under load: the client fails over, nothing is charged twice, every indicium it got is recorded', async () => {
    const { c } = await mailer();
    const received = new Map<string, Api.IssuedPiece>();
    const keys = Array.from({ length: 24 }, () => `k-${randomUUID()}`);
    let done = 0;
    let killed = false;
    const victim = cluster.nodes[0]!;
    const work = async (lane: number) => {
      for (let i = lane; i < keys.length; i += 3) {
        const answer = await c.dispense({ pieces: [piece(10, keys[i])] });
        for (const p of answer.pieces) received.set(p.idempotencyKey ?? '', p);
        if (++done === 6 && !killed) {
          killed = true;
          victim.child.kill('SIGKILL');
        }
      }
    };
    await Promise.all([0, 1, 2].map(work));
    expect(killed).toBe(true);
    expect(received.size).toBe(keys.length);
    // Read back through the surviving node only.
    const survivor = client([cluster.nodes[1]!.url], c.token);
    const history = await survivor.history({ pageSize: 500 });
    const recorded = new Map(history.items.map((item) => [item.pieceId, item.indicium]));
    for (const p of received.values()) expect(recorded.get(p.pieceId), p.pieceId).toBe(p.indicium);
    // Each key charged once: the balance is the refill less one postage per key.
    const account = await survivor.account();
    expect(account.balanceCents).toBe(10_000 - 10 * keys.length);
    expect(history.total).toBe(keys.length);
    cluster.nodes.splice(0, 1); // the shard test below runs on the survivor
    deadUrl = victim.url;
  }, 120_000);

  it('vpm takes --server once per node and goes past a dead one, for sign-up, login and balance', async () => {
    const home = await mkdtemp(join(tmpdir(), 'vpm-home-'));
    try {
      const servers = [deadUrl!, cluster.nodes[0]!.url].flatMap((url) => ['--server', url]);
      const env = { VPM_HOME: home, VPM_KEYCHAIN: 'none', VPM_CA: cluster.caPath };
      const input = 'a long office password\n';
      const user = `cli${randomUUID().slice(0, 6)}`;
      const up = await vpm(
        [...servers, 'signup', '--user', user, '--zip', '30301', '--password-stdin'],
        {
          env,
          input,
        },
      );
      expect(up.code, up.stderr).toBe(0);
      const login = await vpm([...servers, 'login', '--user', user, '--password-stdin'], {
        env,
        input,
      });
      expect(login.code, login.stderr).toBe(0);
      // The saved configuration keeps both nodes: a plain `vpm balance` fails over too.
      const balance = await vpm(['balance', '--json'], { env });
      expect(balance.code, balance.stderr).toBe(0);
      expect(JSON.parse(balance.stdout)).toMatchObject({ balanceCents: 0 });
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  }, 60_000);

  it('kill -9 of one meter shard: its meters get a fast retryable 503, the other shard is unaffected, and it recovers', async () => {
    // Mailers until one meter lives on each shard.
    const byShard = new Map<number, { c: DataCenterClient; serial: string }>();
    while (byShard.size < 2) {
      const m = await mailer();
      byShard.set(shardOfSerial(m.serial, 2), m);
    }
    const pid = cluster.boxPid('meter-1');
    expect(pid).toBeGreaterThan(0);
    process.kill(pid!, 'SIGKILL');
    const down = byShard.get(1)!;
    const once = client(
      cluster.nodes.map((n) => n.url),
      down.c.token,
      0,
    );
    const error = await once.dispense({ pieces: [piece(10)] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    // Either the restart already finished (fast machine) or the refusal is retryable, with advice.
    if (error !== undefined) {
      expect(error).toBeInstanceOf(DataCenterError);
      expect((error as DataCenterError).code).toBe('SERVICE_UNAVAILABLE');
      expect((error as DataCenterError).status).toBe(503);
      expect((error as DataCenterError).message).toMatch(/meter box is not answering.*try again/);
    }
    await byShard.get(0)!.c.dispense({ pieces: [piece(10)] });
    // The client's own retries carry it through the restart.
    const after = await down.c.dispense({ pieces: [piece(10)] });
    expect(after.pieces).toHaveLength(1);
    expect(cluster.boxPid('meter-1')).not.toBe(pid);
  }, 60_000);
});
