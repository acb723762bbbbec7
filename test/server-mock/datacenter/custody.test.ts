/**
 * Key custody through the real CLI (issue 13, "Key custody"): `vpm datacenter init` splits the
 * domain key among custodians and writes their shares outside the data directory; `vpm datacenter
 * start` runs only with a quorum of this data center's undamaged shares. A copy of the data
 * directory alone starts nothing. And the box test switches set in the environment of this
 * production start change nothing. Inits and refused starts run in this process (vpmInProcess);
 * a data center that starts is a process of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataCenterClient } from '../../../client/services/datacenter-client';
import { shareCheckValue } from '../../../server-mock/boxes/index';
import { decodeIndicium } from '../../../shared/indicium/codec';
import { VPM_ARGS, vpmInProcess as vpm } from '../../helpers/cli';
import { piece } from './support';

let base: string;
let dir: string;
let shareDir: string;
let initOut: string;
const share = (i: number) => join(shareDir, `custodian-${i}.share`);

beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'vpm-custody-'));
  dir = join(base, 'dc');
  shareDir = join(base, 'shares');
  const init = await vpm(['datacenter', 'init', '--data', dir, '--share-out', shareDir]);
  expect(init.code, init.stderr).toBe(0);
  initOut = init.stdout;
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

/** Starts `vpm datacenter start` as its own process; resolves with its URL once it listens. */
async function startProcess(
  args: string[],
  options: { input?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn(
    process.execPath,
    [...VPM_ARGS, 'datacenter', 'start', '--port', '0', ...args],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, ...options.env },
    },
  );
  child.stdin?.end(options.input ?? '');
  let stderr = '';
  child.stderr?.on('data', (d) => (stderr += d));
  const url = await new Promise<string>((done, fail) => {
    let text = '';
    child.stdout?.on('data', (d) => {
      text += d;
      const m = /listening at (https:\/\/\S+)/.exec(text);
      if (m) done(m[1] as string);
    });
    child.on('exit', (code) => fail(new Error(`exited early (${code}): ${text}${stderr}`)));
  });
  return {
    url,
    child,
    stop: () =>
      new Promise((done) => {
        if (child.exitCode !== null) return done();
        child.once('exit', () => done());
        child.kill('SIGTERM');
      }),
  };
}

describe('vpm datacenter init', () => {
  it('writes one share per custodian, mode 0600, outside the data directory, and prints each check value once', async () => {
    expect((await readdir(shareDir)).sort()).toEqual([
      'custodian-1.share',
      'custodian-2.share',
      'custodian-3.share',
    ]);
    const { dataCenterId } = JSON.parse(await readFile(join(dir, 'datacenter.json'), 'utf8')) as {
      dataCenterId: string;
    };
    for (const i of [1, 2, 3]) {
      expect((await stat(share(i))).mode & 0o777).toBe(0o600);
      const text = await readFile(share(i), 'utf8');
      expect(text).toMatch(
        new RegExp(
          `^vpm-share-v1\\.${dataCenterId}\\.${i}\\.2\\.3\\.[A-Za-z0-9_-]{44}\\.[0-9a-f]{8}\\n$`,
        ),
      );
      expect(initOut.split(shareCheckValue(text)).length - 1).toBe(1);
    }
    expect(initOut).toMatch(/any 2 of these 3/);
  });

  it('refuses a share folder inside the data directory, and writes nothing', async () => {
    const inner = join(base, 'dc-inner');
    const r = await vpm(['datacenter', 'init', '--data', inner, '--share-out', join(inner, 's')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/inside the data directory/);
    expect(existsSync(join(inner, 'datacenter.json'))).toBe(false);
    expect(existsSync(join(inner, 'boxes'))).toBe(false);
  });

  it('refuses a quorum larger than the number of custodians', async () => {
    const r = await vpm([
      'datacenter',
      'init',
      '--data',
      join(base, 'dc-bad'),
      '--share-out',
      join(base, 'bad-shares'),
      '--custodians',
      '2',
      '--quorum',
      '3',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/quorum: 3 must be a whole number from 2 to the number of custodians/);
  });
});

describe('vpm datacenter start', () => {
  let copy: string;
  beforeAll(async () => {
    copy = join(base, 'copy');
    await cp(dir, copy, { recursive: true });
  });
  /** `vpm datacenter start` of the copy with these share files. */
  const startCopy = (...shareFiles: string[]) =>
    vpm([
      'datacenter',
      'start',
      '--data',
      copy,
      '--port',
      '0',
      ...shareFiles.flatMap((f) => ['--share', f]),
    ]);

  it('refuses a copy of the data directory without shares', async () => {
    const r = await vpm(['datacenter', 'start', '--data', copy, '--port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no custodian shares given/);
  });

  it('refuses one share fewer than the quorum, saying how many are valid and needed', async () => {
    const r = await startCopy(share(1));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 valid custodian share given, 2 needed/);
    const twice = await vpm(
      ['datacenter', 'start', '--data', copy, '--port', '0', '--shares-stdin'],
      { input: `${await readFile(share(2), 'utf8')}${await readFile(share(2), 'utf8')}` },
    );
    expect(twice.code).toBe(1);
    expect(twice.stderr).toMatch(/1 valid custodian share given, 2 needed/);
    expect(twice.stderr).toMatch(/custodian 2's share was already given/);
  });

  it('refuses a damaged share, naming it', async () => {
    const text = await readFile(share(2), 'utf8');
    const fields = text.trim().split('.');
    const data = fields[5] as string;
    fields[5] = `${data.slice(0, 10)}${data[10] === 'A' ? 'B' : 'A'}${data.slice(11)}`;
    const damaged = join(base, 'damaged.share');
    await writeFile(damaged, `${fields.join('.')}\n`);
    const r = await startCopy(share(1), damaged);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 valid custodian share given, 2 needed/);
    expect(r.stderr).toMatch(/damaged\.share: damaged \(its checksum does not match/);
  });

  it('refuses a share of another data center', async () => {
    const otherShares = join(base, 'other-shares');
    const init = await vpm([
      'datacenter',
      'init',
      '--data',
      join(base, 'other'),
      '--share-out',
      otherShares,
    ]);
    expect(init.code, init.stderr).toBe(0);
    const r = await vpm([
      'datacenter',
      'start',
      '--data',
      copy,
      '--port',
      '0',
      '--share',
      share(1),
      '--share',
      join(otherShares, 'custodian-2.share'),
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1 valid custodian share given, 2 needed/);
    expect(r.stderr).toMatch(/custodian-2\.share: from another data center/);
  });

  it('runs with a quorum of shares on stdin, and the box test switches in its environment change nothing', async () => {
    const input = `${await readFile(share(1), 'utf8')}${await readFile(share(3), 'utf8')}`;
    const dc = await startProcess(['--data', copy, '--shares-stdin'], {
      input,
      env: {
        VPM_BOX_CLOCK: '2001-02-03T04:05:06.000Z',
        VPM_BOX_FORCE_SELFTEST_FAIL: 'ecdsa-p256',
        VPM_BOX_TEST_PAUSE: 'before-commit',
      },
    });
    const caPem = await readFile(join(copy, 'tls', 'ca.pem'), 'utf8');
    const c = new DataCenterClient({ serverUrl: dc.url, caPem, retries: 0 });
    try {
      const signUp = { username: 'custody', password: 'correct horse battery' };
      await c.signUp({ ...signUp, name: 'Custody Test', originZip: '94103' });
      await c.signIn(signUp);
      await c.refill({
        amountCents: 1000,
        cardNumber: '4242424242424242',
        idempotencyKey: 'refill-custody-1',
      });
      const { pieces } = await c.dispense({ pieces: [piece(73)] });
      const today = new Date().toISOString().slice(0, 10);
      const indicium = decodeIndicium(Buffer.from(pieces[0]!.indicium, 'base64')).fields;
      expect(indicium.mailingDate).toBe(today);
      // The meter's certificate was issued by the steel box on its own clock: today, not 2001.
      const pem = (await c.certificates()).certificates[indicium.certificateSerial] as string;
      const issued = Date.parse(new X509Certificate(pem).validFrom);
      expect(Math.abs(issued - Date.now())).toBeLessThan(86_400_000);
    } finally {
      await c.close();
      await dc.stop();
    }
    const db = new Database(join(copy, 'datacenter.db'), { readonly: true });
    try {
      const row = db.prepare('SELECT mac_period FROM meter_records').get() as {
        mac_period: string;
      };
      expect(row.mac_period).toBe(new Date().toISOString().slice(0, 7));
    } finally {
      db.close();
    }
  });
});
