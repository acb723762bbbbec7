/**
 * Addresses in the `vpm` CLI (issue 15), with `vpm` command lines run in this process
 * (vpmInProcess) against a real data center process: the return address from the settings on
 * every piece and `--from` over it; the address book (`--to @handle`, CSV import, search); the
 * offline ZIP check refusing a wrong city with a suggestion, charging nothing, and passing with
 * `--accept-address`, remembered on the piece; a batch with three bad addresses listing all three
 * and charging nothing.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataCenterClient } from '../../client/services/datacenter-client';
import { SHIPPED_RATE_TABLE } from '../../shared/rates/shipped-table';
import { testRateTable } from '../fixtures/rates/test-table';
import {
  startDataCenterProcess,
  vpmInProcess as vpm,
  type DataCenterProcess,
} from '../helpers/cli';

const run = promisify(execFile);
const pdfText = async (file: string) => (await run('pdftotext', ['-layout', file, '-'])).stdout;

let dc: DataCenterProcess;
let home: string;
let env: NodeJS.ProcessEnv;
let api: DataCenterClient;
const balance = async () => (await api.account()).balanceCents;

beforeAll(async () => {
  dc = await startDataCenterProcess();
  home = await mkdtemp(join(tmpdir(), 'vpm-addr-'));
  env = { VPM_HOME: home, VPM_KEYCHAIN: 'none', VPM_SERVER: dc.url, VPM_CA: dc.caPath };
  const password = { env, input: 'a long office password\n' };
  expect(
    (await vpm(['signup', '--user', 'addr1', '--zip', '62701', '--password-stdin'], password)).code,
  ).toBe(0);
  expect((await vpm(['login', '--user', 'addr1', '--password-stdin'], password)).code).toBe(0);
  api = new DataCenterClient({ serverUrl: dc.url, caPem: await readFile(dc.caPath, 'utf8') });
  await api.signIn({ username: 'addr1', password: 'a long office password' });
  const refill = await vpm(['refill', '50', '--card-stdin'], { env, input: '4242424242424242\n' });
  expect(refill.code, refill.stderr).toBe(0);
}, 120_000);

afterAll(async () => {
  await api?.close();
  await dc?.stop();
});

describe('vpm settings --return-address and --from', { timeout: 120_000 }, () => {
  it('prints the saved return address on the piece, and --from instead when given', async () => {
    const set = await vpm(
      ['settings', '--return-address', 'Acme Supply, 200 North Oak Street, Springfield, IL 62704'],
      { env },
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toContain('ACME SUPPLY, 200 N OAK ST, SPRINGFIELD, IL 62704');
    const shown = await vpm(['settings', '--json'], { env });
    expect(JSON.parse(shown.stdout).returnAddress.street).toBe('200 N OAK ST');

    const out = join(home, 'with-return.pdf');
    const to = 'Ann Lee, 1 Main Street, Springfield, IL 62701';
    const r = await vpm(['print', '--to', to, '--postage', '0.78', '--out', out], { env });
    expect(r.code, r.stderr).toBe(0);
    const text = await pdfText(out);
    expect(text).toContain('ACME SUPPLY');
    expect(text).toContain('200 N OAK ST');
    expect(text).toContain('1 MAIN ST'); // the recipient in USPS style

    const other = join(home, 'with-from.pdf');
    const f = await vpm(
      [
        'print',
        '--to',
        to,
        '--postage',
        '0.78',
        '--out',
        other,
        '--from',
        'Bo Diaz, 9 Elm Rd, Denver, CO 80202',
      ],
      { env },
    );
    expect(f.code, f.stderr).toBe(0);
    const fromText = await pdfText(other);
    expect(fromText).toContain('BO DIAZ');
    expect(fromText).not.toContain('ACME SUPPLY');

    const bad = await vpm(['settings', '--return-address', 'no commas here'], { env });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /--return-address "no commas here": write it as "NAME, STREET, CITY, ST ZIP"/,
    );
  });
});

describe('vpm address-book', { timeout: 120_000 }, () => {
  it('saves, imports from the batch CSV format, searches, and prints to @handle', async () => {
    const add = await vpm(
      ['address-book', 'add', 'ann', 'Ann Lee, 1 Main St, Springfield, IL 62701'],
      { env },
    );
    expect(add.code, add.stderr).toBe(0);
    const csv = join(home, 'contacts.csv');
    await writeFile(
      csv,
      'name,street,city,state,zip,handle\nCarl Ito,5 Pine Ave,Denver,CO,80203,\nDee Wu,7 Lake Dr,Austin,TX,78701,dee\n',
    );
    const imported = await vpm(['address-book', 'import', csv], { env });
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toContain('@carl-ito, @dee');
    const badCsv = join(home, 'contacts-bad.csv');
    await writeFile(badCsv, 'name,street,city,state,zip\nEve,,Denver,CO,80203\n');
    const refused = await vpm(['address-book', 'import', badCsv], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/line 2: street is empty/);

    const found = await vpm(['address-book', 'list', '--search', 'denver', '--json'], { env });
    expect(JSON.parse(found.stdout).map((e: { handle: string }) => e.handle)).toEqual(['carl-ito']);

    const out = join(home, 'to-dee.pdf');
    const r = await vpm(['print', '--to', '@dee', '--postage', '0.78', '--out', out], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(await pdfText(out)).toContain('7 LAKE DR');
    const unknown = await vpm(['print', '--to', '@nobody', '--postage', '0.78', '--out', out], {
      env,
    });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no entry @nobody/);
  });
});

describe('the offline address check', { timeout: 180_000 }, () => {
  it('refuses a wrong city for its ZIP with a suggestion, charging nothing, and passes with --accept-address', async () => {
    const before = await balance();
    const to = 'Ann Lee, 1 Main St, Chicago, IL 62701';
    const out = join(home, 'chicago.pdf');
    const refused = await vpm(['print', '--to', to, '--postage', '0.78', '--out', out], { env });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/ZIP 62701 is SPRINGFIELD, IL, not CHICAGO, IL/);
    expect(refused.stderr).toMatch(/did you mean "1 MAIN ST, SPRINGFIELD, IL 62701"/);
    expect(refused.stderr).toMatch(/--accept-address; nothing was charged/);
    expect(await balance()).toBe(before);

    const kept = await vpm(
      ['print', '--to', to, '--postage', '0.78', '--out', out, '--accept-address'],
      { env },
    );
    expect(kept.code, kept.stderr).toBe(0);
    expect(kept.stdout).toMatch(/Address kept as written \(--accept-address\)/);
    expect(await balance()).toBe(before - 78);
    // The override is remembered with the piece in the local history.
    const pieceId = /Piece (\S+):/.exec(kept.stdout)?.[1];
    const journal = (await readFile(join(home, 'pieces.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { pieceId: string; addressOverride?: { problems: string[] } });
    expect(journal.find((l) => l.pieceId === pieceId)?.addressOverride?.problems).toEqual([
      'ZIP 62701 is SPRINGFIELD, IL, not CHICAGO, IL',
    ]);
  });

  it('a batch with three bad addresses lists all three with suggestions and charges nothing', async () => {
    const before = await balance();
    const file = join(home, 'three-bad.csv');
    await writeFile(
      file,
      [
        'name,street,city,state,zip,postage,class',
        'A One,1 Main St,Springfield,IL,62701,0.78,first-class',
        'B Two,2 Main St,Chicago,IL,62701,0.78,first-class',
        'C Three,3 Oak St,Denver,CO,80202,0.78,first-class',
        'D Four,4 Oak St,Denver,TX,80203,0.78,first-class',
        'E Five,5 Elm St,Boise,ID,00000,0.78,first-class',
      ].join('\n'),
    );
    const r = await vpm(['batch', file, '--out', join(home, 'three-bad.pdf')], { env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/3 bad row\(s\), nothing was charged/);
    expect(r.stderr).toMatch(/line 3: ZIP 62701 is SPRINGFIELD, IL, not CHICAGO, IL; did you mean/);
    expect(r.stderr).toMatch(/line 5: ZIP 80203 is DENVER, CO, not DENVER, TX/);
    expect(r.stderr).toMatch(/line 6: ZIP 00000: not a US ZIP code.*BOISE, ID has ZIP 837/);
    expect(await balance()).toBe(before);

    // Confirmed as written: the whole list is bought.
    const ok = await vpm(['batch', file, '--out', join(home, 'three-ok.pdf'), '--accept-address'], {
      env,
    });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await balance()).toBe(before - 5 * 78);
  });
});

describe('vpm rates and vpm datacenter rates import', { timeout: 180_000 }, () => {
  type Rates = {
    zone: { zone: number };
    offers: Array<{
      mailClass: string;
      postageCents: number;
      zone: number | null;
      packaging?: string;
    }>;
    unavailable: Array<{ mailClass: string; code: string }>;
    table: { version: string };
    tableFrom: string;
  };
  const rates = async (to: string, ...more: string[]): Promise<Rates> => {
    const r = await vpm(
      ['rates', '--from', '10001', '--to', to, '--weight', '2lb', '--json', ...more],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Rates;
  };
  const priority = (r: Rates) => r.offers.find((o) => o.mailClass === 'priority' && !o.packaging);

  it('prices every service from the table the data center serves, and an import changes the prices', async () => {
    const shipped = await rates('90001', '--refresh');
    expect(shipped.tableFrom).toBe('data center');
    expect(shipped.table.version).toBe(SHIPPED_RATE_TABLE.version);
    // Notice 123 retail, 2 lb to zone 8: Priority Mail $21.55, USPS Ground Advantage $19.05.
    expect(priority(shipped)).toMatchObject({ zone: 8, postageCents: 2155 });
    expect(shipped.offers.find((o) => o.mailClass === 'ground-advantage')?.postageCents).toBe(1905);
    expect(shipped.unavailable.filter((u) => u.code === 'NOT_PRICED')).toEqual([]);

    const file = join(home, 'table.json');
    await writeFile(file, JSON.stringify(testRateTable('cli-1')));
    const imported = await vpm(['datacenter', 'rates', 'import', '--data', dc.dir, file]);
    expect(imported.code, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/Rate table cli-1 .* imported/);
    const badFile = join(home, 'bad-table.json');
    await writeFile(badFile, JSON.stringify({ ...testRateTable('cli-2'), services: [] }));
    const bad = await vpm(['datacenter', 'rates', 'import', '--data', dc.dir, badFile]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/rate table: 1 problem\(s\), nothing changed/);

    const far = await rates('90001', '--refresh');
    const near = await rates('10016', '--refresh');
    expect(far.table.version).toBe('cli-1');
    expect(priority(far)?.zone).toBe(8);
    expect(priority(near)?.zone).toBe(1);
    expect(priority(far)!.postageCents).toBeGreaterThan(priority(near)!.postageCents);
    const cents = far.offers.map((o) => o.postageCents);
    expect(cents).toEqual([...cents].sort((a, b) => a - b));

    // A size above one cubic foot is billed by its dimensional weight.
    const big = await rates('90001', '--dims', '20x15x10');
    expect(priority(big)!.postageCents).toBeGreaterThan(priority(far)!.postageCents);

    // A weight or size nobody takes: a clear refusal.
    const heavy = await vpm(['rates', '--from', '10001', '--to', '90001', '--weight', '2kg'], {
      env,
    });
    expect(heavy.code).toBe(2);
    expect(heavy.stderr).toMatch(/weight "2kg": write it like 8oz, 2lb/);
    const huge = await rates('90001', '--dims', '100x40x40');
    expect(huge.unavailable.find((u) => u.mailClass === 'priority')?.code).toBe('TOO_LARGE');

    // Buying by weight uses the same table: the meter's origin ZIP 62701 to the recipient.
    const before = await balance();
    const quoted = await vpm(
      ['rates', '--from', '62701', '--to', '78701', '--weight', '2lb', '--json'],
      { env },
    );
    const expected = priority(JSON.parse(quoted.stdout) as Rates)!.postageCents;
    const out = join(home, 'priority.pdf');
    const r = await vpm(
      [
        'print',
        '--to',
        'Dee Wu, 7 Lake Dr, Austin, TX 78701',
        '--class',
        'priority',
        '--weight',
        '2lb',
        '--out',
        out,
      ],
      { env },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(await balance()).toBe(before - expected);
  });
});
