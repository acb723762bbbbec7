/**
 * Test helper: the postal authority and a data center reporting to it, each as its own `vpm`
 * process with its own directory (real files, real HTTPS), as an operator runs them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { DataCenterClient } from '../../client/services/datacenter-client';
import { approveVendor, initPostal } from '../../postal/index';
import { initDataCenter } from '../../server-mock/index';
import { VPM_ARGS } from './cli';

export interface ServiceProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** Everything it wrote so far. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts `vpm ARGS` and waits for its "listening at URL" line. */
export async function startListening(args: string[]): Promise<ServiceProcess> {
  const child = spawn(process.execPath, [...VPM_ARGS, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let text = '';
  child.stdout?.on('data', (d) => (text += d));
  child.stderr?.on('data', (d) => (text += d));
  const url = await new Promise<string>((done, fail) => {
    const check = () => {
      const m = /listening at (https:\/\/\S+)/.exec(text);
      if (m) done(m[1] as string);
    };
    child.stdout?.on('data', check);
    child.on('exit', (code) => fail(new Error(`vpm ${args[0]} exited early (${code}): ${text}`)));
  });
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output: () => text,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null || child.signalCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

export interface PostalSetup {
  pdir: string;
  dir: string;
  /** A file with every custodian share of the data center (outside its directory). */
  sharesFile: string;
  postalCa: string;
  dcCaPem: string;
  postal?: ServiceProcess;
  dc?: ServiceProcess;
  startPostal(port?: number): Promise<ServiceProcess>;
  startDataCenter(extra?: string[]): Promise<ServiceProcess>;
  client(token?: string): DataCenterClient;
  /** Signs up and signs in a mailer and refills its meter with a test card; returns its client. */
  fundedMailer(username: string, amountCents: number): Promise<DataCenterClient>;
  /** The postal authority's count of pieces received from the box. */
  postalPieces(): number;
  stop(): Promise<void>;
}

/**
 * A postal authority (its own temp dir) and a data center whose vendor CA it approved. The two
 * inits run in this process (the same functions `vpm … init` runs, without two CLI start-ups).
 */
export async function setUpPostal(options: { postal?: boolean } = {}): Promise<PostalSetup> {
  const base = await mkdtemp(join(tmpdir(), 'vpm-postal-'));
  const pdir = join(base, 'post');
  const dir = join(base, 'datacenter');
  const { shares } = await initDataCenter(dir);
  // The custodians' shares, kept outside the data directory (a restored copy does not hold them).
  const sharesFile = join(base, 'shares.txt');
  await writeFile(sharesFile, shares.map((share) => `${share}\n`).join(''), { mode: 0o600 });
  if (options.postal !== false) {
    await initPostal(pdir);
    await approveVendor(pdir, await readFile(join(dir, 'boxes', 'vendor-ca.pem'), 'utf8'));
  }
  const clients: DataCenterClient[] = [];
  const s: PostalSetup = {
    pdir,
    dir,
    sharesFile,
    postalCa: join(pdir, 'tls', 'ca.pem'),
    dcCaPem: await readFile(join(dir, 'tls', 'ca.pem'), 'utf8'),
    async startPostal(port = 0) {
      s.postal = await startListening(['postal', 'start', '--data', pdir, '--port', String(port)]);
      return s.postal;
    },
    async startDataCenter(extra = []) {
      if (!s.postal) throw new Error('start the postal authority first');
      s.dc = await startListening([
        'datacenter',
        'start',
        '--data',
        dir,
        '--port',
        '0',
        '--share',
        sharesFile,
        '--postal',
        s.postal.url,
        '--postal-ca',
        s.postalCa,
        ...extra,
      ]);
      return s.dc;
    },
    client(token?: string) {
      if (!s.dc) throw new Error('start the data center first');
      const c = new DataCenterClient({ serverUrl: s.dc.url, caPem: s.dcCaPem, retries: 0, token });
      clients.push(c);
      return c;
    },
    async fundedMailer(username: string, amountCents: number) {
      const client = s.client();
      const password = 'correct horse battery';
      await client.signUp({ username, password, name: username, originZip: '94103' });
      await client.signIn({ username, password });
      await client.refill({
        amountCents,
        cardNumber: '4242424242424242',
        idempotencyKey: 'refill-0001',
      });
      return client;
    },
    postalPieces() {
      const db = new Database(join(pdir, 'postal.db'), { readonly: true });
      try {
        const row = db.prepare('SELECT SUM(total_pieces) AS n FROM boxes').get() as {
          n: number | null;
        };
        return row.n ?? 0;
      } finally {
        db.close();
      }
    },
    async stop() {
      await Promise.all(clients.map((c) => c.close()));
      await s.dc?.stop();
      await s.postal?.stop();
      await rm(base, { recursive: true, force: true });
    },
  };
  return s;
}

/** Polls `probe` until it returns true (a deadline, not a timing assertion). */
export async function eventually(
  probe: () => boolean | Promise<boolean>,
  what: string | (() => string),
): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await probe())) {
    if (Date.now() > deadline)
      throw new Error(`never happened: ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
