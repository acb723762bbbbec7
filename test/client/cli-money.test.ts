/**
 * Money safety of the `vpm` CLI (issue 14, client side), attacked as a careless or hostile
 * mailer would, with real `vpm` processes against a real data center process: nothing is
 * charged for a piece that cannot print (missing printer, unprintable or bidi-spoofed address,
 * bad batch row), a refunded piece is never printed again, a batch is known by its content and
 * runs again only with --again, a script's retry with the same --idempotency-key is the same
 * piece, a card number is never taken from the command line, and the online verifier never
 * calls valid what the data center says it did not issue.
 */
import { access, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataCenterClient } from '../../client/services/datacenter-client';
import {
  startDataCenterProcess,
  vpmInProcess as vpm,
  type DataCenterProcess,
} from '../helpers/cli';

let dc: DataCenterProcess;
let home: string;
let env: NodeJS.ProcessEnv;

/** The mailer's registers, read in this process (a second session) to spare a process start. */
let api: DataCenterClient;
const balance = async (): Promise<{ balanceCents: number; ascendingCents: number }> => {
  const a = await api.account();
  return { balanceCents: a.balanceCents, ascendingCents: a.ascendingCents };
};

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );

const ANN = 'Ann Lee, 1 Main St, Springfield, IL 62701';
const printArgs = (to: string, out: string, ...more: string[]) => [
  'print',
  '--to',
  to,
  '--postage',
  '0.78',
  '--out',
  out,
  ...more,
];

beforeAll(async () => {
  dc = await startDataCenterProcess();
  home = await mkdtemp(join(tmpdir(), 'vpm-money-'));
  env = { VPM_HOME: home, VPM_KEYCHAIN: 'none', VPM_SERVER: dc.url, VPM_CA: dc.caPath };
  const password = { env, input: 'a long office password\n' };
  const up = await vpm(
    ['signup', '--user', 'money1', '--zip', '30301', '--password-stdin'],
    password,
  );
  expect(up.code, up.stderr).toBe(0);
  const login = await vpm(['login', '--user', 'money1', '--password-stdin'], password);
  expect(login.code, login.stderr).toBe(0);
  api = new DataCenterClient({ serverUrl: dc.url, caPem: await readFile(dc.caPath, 'utf8') });
  await api.signIn({ username: 'money1', password: 'a long office password' });
}, 120_000);

afterAll(async () => {
  await api?.close();
  await dc?.stop();
});

describe('vpm refill', { timeout: 120_000 }, () => {
  it('takes the card number from standard input only, never from the command line', async () => {
    const onArgv = await vpm(['refill', '20', '--card', '4242424242424242'], { env });
    expect(onArgv.code).toBe(2);
    expect(onArgv.stderr).toMatch(/never taken on the command line.*--card-stdin/);
    const none = await vpm(['refill', '20'], { env });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--card-stdin/);
    expect((await balance()).balanceCents).toBe(0);

    const ok = await vpm(['refill', '50', '--card-stdin'], {
      env,
      input: '4242-4242-4242-4242\n',
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await balance()).balanceCents).toBe(5000);
    const declined = await vpm(['refill', '20', '--card-stdin'], {
      env,
      input: '4000000000000002\n',
    });
    expect(declined.code).toBe(1);
    expect((await balance()).balanceCents).toBe(5000);
  });
});

describe('vpm print: every output check before the charge', { timeout: 180_000 }, () => {
  it('charges nothing for a missing printer or an address the label font cannot print', async () => {
    const before = await balance();
    const noPrinter = await vpm(
      ['print', '--to', ANN, '--postage', '0.78', '--printer', 'NoSuchQueue'],
      { env },
    );
    expect(noPrinter.code).toBe(1);
    expect(noPrinter.stderr).toMatch(/printer "NoSuchQueue": no such printer.*nothing was charged/);

    const cases: Array<[string, RegExp]> = [
      ['李小龙, 1 Main St, Springfield, IL 62701', /"李" \(U\+674E\) cannot be printed/],
      // "Main St" that reads right, prints reversed: a right-to-left override in the street.
      [
        'Ann Lee, 1 \u202Eta eM\u202C St, Springfield, IL 62701',
        /text-direction control \(U\+202E\)/,
      ],
    ];
    for (const [to, message] of cases) {
      const out = join(home, 'refused.pdf');
      const r = await vpm(printArgs(to, out), { env });
      expect(r.code, to).toBe(1);
      expect(r.stderr, to).toMatch(message);
      expect(r.stderr, to).toMatch(/nothing was charged/);
      expect(await exists(out)).toBe(false);
    }
    expect(await balance()).toEqual(before);

    // Latin letters with accents are in the font: printed and charged.
    const accented = await vpm(
      printArgs('José Müller-Ñúñez, 1 Rue de l’Église, Springfield, IL 62701', join(home, 'é.pdf')),
      { env },
    );
    expect(accented.code, accented.stderr).toBe(0);
    expect((await balance()).balanceCents).toBe(before.balanceCents - 78);
  });

  it('a script retrying with the same --idempotency-key gets the same piece, charged once', async () => {
    const before = await balance();
    const key = 'retry-key-0123456789';
    const first = await vpm(printArgs(ANN, join(home, 'k1.pdf'), '--idempotency-key', key), {
      env,
    });
    expect(first.code, first.stderr).toBe(0);
    const again = await vpm(printArgs(ANN, join(home, 'k2.pdf'), '--idempotency-key', key), {
      env,
    });
    expect(again.code, again.stderr).toBe(0);
    const id = (text: string) => /Piece ([0-9a-f-]{36})/.exec(text)?.[1];
    expect(id(again.stdout)).toBe(id(first.stdout));
    expect(again.stdout).toMatch(/not charged again/);
    expect((await balance()).balanceCents).toBe(before.balanceCents - 78);
    const bad = await vpm(printArgs(ANN, join(home, 'k3.pdf'), '--idempotency-key', 'short'), {
      env,
    });
    expect(bad.code).toBe(2);
  });

  it('refuses to reprint a refunded piece', async () => {
    const printed = await vpm(printArgs(ANN, join(home, 'to-refund.pdf')), { env });
    expect(printed.code, printed.stderr).toBe(0);
    const pieceId = /Piece ([0-9a-f-]{36})/.exec(printed.stdout)?.[1] as string;
    const refunded = await vpm(['refund', pieceId], { env });
    expect(refunded.code, refunded.stderr).toBe(0);
    const out = join(home, 'reprint-refunded.pdf');
    const reprint = await vpm(['reprint', pieceId, '--out', out], { env });
    expect(reprint.code).toBe(1);
    expect(reprint.stderr).toMatch(/refunded, so it is not valid postage/);
    expect(await exists(out)).toBe(false);
  });
});

describe('vpm batch: known by its content', { timeout: 240_000 }, () => {
  const rows = [
    'Person 1,1 Oak St,Denver,CO,80201,0.78,first-class',
    'Person 2,2 Oak St,Denver,CO,80202,0.78,first-class',
    'Person 3,3 Oak St,Denver,CO,80203,0.78,first-class',
  ];

  it('refuses a row the label font cannot print by its line, and a missing printer, charging nothing', async () => {
    const before = await balance();
    const file = join(home, 'bidi.csv');
    const bad = [...rows];
    bad[1] = 'Person 2,2 Oak St\u202E,Denver,CO,80202,0.78,first-class';
    await writeFile(file, ['name,street,city,state,zip,postage,class', ...bad].join('\n'));
    const r = await vpm(['batch', file, '--out', join(home, 'bidi.pdf')], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 3: .*U\+202E/);
    const good = join(home, 'good.csv');
    await writeFile(good, ['name,street,city,state,zip,postage,class', ...rows].join('\n'));
    const queue = await vpm(['batch', good, '--printer', 'NoSuchQueue'], { env });
    expect(queue.code).toBe(1);
    expect(queue.stderr).toMatch(/no such printer/);
    expect(await balance()).toEqual(before);
  });

  it('runs the same list again only with --again, however the file was rewritten', async () => {
    const file = join(home, 'list.csv');
    await writeFile(file, ['name,street,city,state,zip,postage,class', ...rows].join('\n'));
    const before = await balance();
    const first = await vpm(['batch', file, '--out', join(home, 'list.pdf')], { env });
    expect(first.code, first.stderr).toBe(0);
    const paid = await balance();
    expect(paid.balanceCents).toBe(before.balanceCents - 3 * 78);

    // The same rows chosen again, saved by a spreadsheet: quoted, spaced, other case, CRLF.
    const resaved = join(home, 'list-copy.csv');
    await writeFile(
      resaved,
      [
        '"Name","Street","City","State","ZIP","Postage","Class"',
        ...rows.map((r) =>
          r
            .split(',')
            .map((c) => `" ${c.toUpperCase()} "`)
            .join(','),
        ),
      ]
        .map((line) => line.replace('FIRST-CLASS', 'first-class'))
        .join('\r\n'),
    );
    for (const again of [file, resaved]) {
      const refused = await vpm(['batch', again, '--out', join(home, 'again.pdf')], { env });
      expect(refused.code, again).toBe(1);
      expect(refused.stderr, again).toMatch(/printed in full.*--again/);
    }
    expect(await balance()).toEqual(paid);

    const confirmed = await vpm(['batch', resaved, '--out', join(home, 'again.pdf'), '--again'], {
      env,
    });
    expect(confirmed.code, confirmed.stderr).toBe(0);
    expect(confirmed.stdout).toMatch(/3 charged now/);
    expect((await balance()).balanceCents).toBe(paid.balanceCents - 3 * 78);
  });
});

describe('vpm verify online', { timeout: 120_000 }, () => {
  it('never calls valid an indicium the data center has no record of', async () => {
    const pdf = join(home, 'unrecorded.pdf');
    const printed = await vpm(printArgs('Bo Diaz, 9 Elm Rd, Austin, TX 73301', pdf), { env });
    expect(printed.code, printed.stderr).toBe(0);
    const pieceId = /Piece ([0-9a-f-]{36})/.exec(printed.stdout)?.[1] as string;
    // An insider with file access removes the transaction record behind the indicium.
    const db = new Database(join(dc.dir, 'datacenter.db'));
    db.pragma('busy_timeout = 10000');
    db.prepare('DELETE FROM pieces WHERE piece_id = ?').run(pieceId);
    db.close();

    const verified = await vpm(['verify', pdf], { env });
    expect(verified.stdout).toMatch(/^bad signature: the data center says: .*not recorded/);
    expect(verified.code).toBe(5);

    // Offline, the same scan passes the signature check, and says what it could not check.
    const bundle = join(home, 'bundle.json');
    await writeFile(bundle, JSON.stringify(await api.certificates()));
    const offline = await vpm(['verify', pdf, '--certs', bundle], { env });
    expect(offline.stdout).toMatch(/^valid: .*offline: duplicates and refunds not checked/);
    expect(JSON.parse(await readFile(bundle, 'utf8'))).toHaveProperty('vendorCaPem');
  });
});
