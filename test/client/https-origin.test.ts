/**
 * The client's HTTPS link (client/services/https-origin.ts under datacenter-client.ts), against a
 * real `node:https` server: the pinned CA is the only one trusted, a request that timed out or
 * lost its connection is repeated only when that is safe, kept-alive connections are reused, and
 * close() lets the process go at once.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DataCenterClient, DataCenterError } from '../../client/services/datacenter-client';
import { createTls } from '../../server-mock/communication/tls';

let dir: string;
let caPem: string;
let otherCaPem: string;
let key: string;
let cert: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-https-origin-'));
  const ours = await createTls(join(dir, 'ours'));
  const other = await createTls(join(dir, 'other'));
  caPem = await readFile(ours.caPath, 'utf8');
  otherCaPem = await readFile(other.caPath, 'utf8');
  key = await readFile(ours.keyPath, 'utf8');
  cert = await readFile(ours.certPath, 'utf8');
});
afterAll(() => rm(dir, { recursive: true, force: true }));

interface TestServer {
  url: string;
  requests: { method: string; url: string }[];
  connections: Socket[];
  close(): Promise<void>;
}

/** An HTTPS server with the data center's certificate; `handle` answers (or not) each request. */
async function serve(
  handle: (req: { method: string; url: string }, res: ServerResponse, n: number) => void,
): Promise<TestServer> {
  const requests: { method: string; url: string }[] = [];
  const connections: Socket[] = [];
  const server: Server = createServer({ key, cert }, (req, res) => {
    const r = { method: req.method ?? '', url: req.url ?? '' };
    requests.push(r);
    req.resume();
    req.on('end', () => handle(r, res, requests.length));
  });
  server.on('secureConnection', (socket: Socket) => connections.push(socket));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `https://127.0.0.1:${port}`,
    requests,
    connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const json = (res: ServerResponse, status: number, body: unknown) => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

describe('the client HTTPS link', () => {
  it("trusts only the pinned CA: another CA's server is refused as untrusted, nothing sent", async () => {
    const server = await serve((_r, res) => json(res, 200, { status: 'ok', version: 'x' }));
    try {
      const trusted = new DataCenterClient({ serverUrl: server.url, caPem });
      expect(await trusted.health()).toEqual({ status: 'ok', version: 'x' });
      await trusted.close();
      const before = server.requests.length;
      const wrong = new DataCenterClient({ serverUrl: server.url, caPem: otherCaPem, retries: 0 });
      const error = await wrong.health().catch((e: unknown) => e);
      await wrong.close();
      expect(error).toBeInstanceOf(DataCenterError);
      expect((error as DataCenterError).code).toBe('UNTRUSTED_SERVER');
      expect((error as Error).message).toMatch(/not signed by the pinned CA.*check --ca/);
      expect(server.requests.length).toBe(before);
    } finally {
      await server.close();
    }
  });

  it('keeps one connection alive across requests, and close() ends it', async () => {
    const server = await serve((_r, res) => json(res, 200, { status: 'ok', version: 'x' }));
    try {
      const client = new DataCenterClient({ serverUrl: server.url, caPem });
      for (let i = 0; i < 5; i++) await client.health();
      expect(server.requests.length).toBe(5);
      expect(server.connections.length).toBe(1);
      const closed = new Promise((resolve) => server.connections[0]!.once('close', resolve));
      await client.close();
      await closed;
    } finally {
      await server.close();
    }
  });

  it('opens new connections with the one TLS context it made for the pinned CA', async () => {
    // Answers wait until four requests are in, so the four go on four connections at once.
    const waiting: ServerResponse[] = [];
    const server = await serve((_r, res) => {
      waiting.push(res);
      if (waiting.length === 4)
        for (const r of waiting) json(r, 200, { status: 'ok', version: 'x' });
    });
    // Node's TLS layer builds a context per connection through this function unless it is given
    // one (the CA parsed again each time).
    const contexts = vi.spyOn(tls, 'createSecureContext');
    try {
      const client = new DataCenterClient({ serverUrl: server.url, caPem });
      await Promise.all([0, 1, 2, 3].map(() => client.health()));
      expect(server.connections.length).toBe(4);
      expect(contexts).not.toHaveBeenCalled();
      await client.close();
    } finally {
      contexts.mockRestore();
      await server.close();
    }
  });

  it('keeps to the connections it was given: requests beyond them wait for one', async () => {
    // Each answer comes a moment later, so the four requests overlap.
    const server = await serve((_r, res) =>
      setTimeout(() => json(res, 200, { status: 'ok', version: 'x' }), 50),
    );
    try {
      const client = new DataCenterClient({ serverUrl: server.url, caPem, connections: 2 });
      await Promise.all([0, 1, 2, 3].map(() => client.health()));
      expect(server.requests.length).toBe(4);
      expect(server.connections.length).toBe(2);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it('repeats a read that timed out, but never a sign-up (not safe to repeat)', async () => {
    // The first two requests get no answer; later ones are answered.
    const server = await serve((r, res, n) => {
      if (n <= 2) return; // silence: the client's timeout fires
      if (r.url === '/v1/health') json(res, 200, { status: 'ok', version: 'late' });
      else json(res, 200, {});
    });
    try {
      const client = new DataCenterClient({ serverUrl: server.url, caPem, timeoutMs: 300 });
      expect(await client.health()).toEqual({ status: 'ok', version: 'late' });
      expect(server.requests.filter((r) => r.url === '/v1/health').length).toBe(3);
      await client.close();

      const server2 = await serve(() => undefined); // never answers
      try {
        const signUp = new DataCenterClient({ serverUrl: server2.url, caPem, timeoutMs: 300 });
        const error = await signUp
          .signUp({
            username: 'someone',
            password: 'a long password',
            name: 'S',
            originZip: '10001',
          })
          .catch((e: unknown) => e);
        await signUp.close();
        expect((error as DataCenterError).code).toBe('UNREACHABLE');
        expect((error as Error).message).toMatch(/ETIMEDOUT.*try again/);
        expect(server2.requests.map((r) => r.url)).toEqual(['/v1/signup']);
      } finally {
        await server2.close();
      }
    } finally {
      await server.close();
    }
  });

  it('repeats a safe request whose connection dropped mid-answer, on a fresh connection', async () => {
    const server = await serve((_r, res, n) => {
      if (n === 1) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
        res.write('{"status":');
        res.socket?.destroy();
        return;
      }
      json(res, 200, { status: 'ok', version: 'again' });
    });
    try {
      const client = new DataCenterClient({ serverUrl: server.url, caPem });
      expect(await client.health()).toEqual({ status: 'ok', version: 'again' });
      expect(server.requests.length).toBe(2);
      expect(server.connections.length).toBe(2);
      await client.close();
    } finally {
      await server.close();
    }
  });

  it('goes past a node that refuses connections, for a request that is not safe to repeat too', async () => {
    const down = await serve(() => undefined);
    const downUrl = down.url;
    await down.close(); // nothing listens there now: ECONNREFUSED, the request never left
    const up = await serve((_r, res) =>
      json(res, 201, { username: 'someone', meterSerial: 'VPM1', balanceCents: 0 }),
    );
    try {
      const client = new DataCenterClient({ serverUrl: `${downUrl},${up.url}`, caPem });
      const account = await client.signUp({
        username: 'someone',
        password: 'a long password',
        name: 'S',
        originZip: '10001',
      });
      expect(account).toMatchObject({ username: 'someone' });
      expect(up.requests.map((r) => r.url)).toEqual(['/v1/signup']);
      await client.close();
    } finally {
      await up.close();
    }
  });
});
