/**
 * End-to-end through PostgreSQL: `vpm datacenter init --database URL` and `vpm datacenter start
 * --database URL` (a real process) against a real PostgreSQL 15, then a mailer's `vpm` session
 * (command lines run in this process, vpmInProcess): sign-up, refill, one printed piece, a batch,
 * history. The records are in PostgreSQL (read back with SQL), none in a SQLite file, and the
 * registers add up. A start that names the wrong database, or none, is refused before any box is
 * unlocked.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  startDataCenterProcess,
  vpmInProcess as vpm,
  type DataCenterProcess,
} from '../helpers/cli';
import { startPostgres, type PostgresServer } from '../helpers/postgres';

let postgres: PostgresServer;
let database: string;
let dc: DataCenterProcess;
let home: string;
let env: NodeJS.ProcessEnv;

beforeAll(async () => {
  postgres = await startPostgres({ durable: false });
  database = await postgres.createDatabase();
  dc = await startDataCenterProcess({ database });
  home = await mkdtemp(join(tmpdir(), 'vpm-pg-e2e-'));
  env = { VPM_HOME: home, VPM_KEYCHAIN: 'none', VPM_SERVER: dc.url, VPM_CA: dc.caPath };
}, 180_000);

afterAll(async () => {
  await dc?.stop();
  await postgres?.stop();
  if (home) await rm(home, { recursive: true, force: true });
  if (dc) await rm(dc.dir, { recursive: true, force: true });
});

const sql = async (text: string, params: unknown[] = []) => {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
};

describe('a data center on PostgreSQL', { timeout: 240_000 }, () => {
  it('serves a mailer’s purchase and batch, recorded in PostgreSQL only', async () => {
    const password = { env, input: 'a long office password\n' };
    const up = await vpm(
      ['signup', '--user', 'pgmailer', '--zip', '30301', '--password-stdin'],
      password,
    );
    expect(up.code, up.stderr).toBe(0);
    const login = await vpm(['login', '--user', 'pgmailer', '--password-stdin'], password);
    expect(login.code, login.stderr).toBe(0);
    const refill = await vpm(['refill', '50', '--card-stdin'], {
      env,
      input: '4242-4242-4242-4242\n',
    });
    expect(refill.code, refill.stderr).toBe(0);

    const out = join(home, 'one.pdf');
    const one = await vpm(
      [
        'print',
        '--to',
        'Ann Lee, 1 Main St, Springfield, IL 62701',
        '--postage',
        '0.78',
        '--out',
        out,
      ],
      { env },
    );
    expect(one.code, one.stderr).toBe(0);
    expect(existsSync(out)).toBe(true);

    const list = join(home, 'list.csv');
    await writeFile(
      list,
      [
        'name,street,city,state,zip,postage,class',
        'Person 1,1 Oak St,Denver,CO,80201,0.78,first-class',
        'Person 2,2 Oak St,Denver,CO,80202,0.78,first-class',
        'Person 3,3 Oak St,Denver,CO,80203,1.50,first-class',
      ].join('\n'),
    );
    const batch = await vpm(['batch', list, '--out', join(home, 'list.pdf')], { env });
    expect(batch.code, batch.stderr).toBe(0);
    const history = await vpm(['history'], { env });
    expect(history.code, history.stderr).toBe(0);
    expect(history.stdout).toMatch(/80203/);

    // The records, in PostgreSQL: four pieces, each at its own ascending register, and the
    // registers add up (refills − pieces = balance).
    const [mailer] = await sql('SELECT id FROM mailers WHERE username = $1', ['pgmailer']);
    const pieces = await sql(
      'SELECT postage_cents, ascending_cents FROM pieces WHERE mailer_id = $1 ORDER BY ascending_cents',
      [mailer?.id],
    );
    expect(pieces.map((p) => Number(p.postage_cents))).toEqual([78, 78, 78, 150]);
    expect(pieces.map((p) => Number(p.ascending_cents))).toEqual([78, 156, 234, 384]);
    const [record] = await sql(
      'SELECT r.descending_cents, r.ascending_cents, r.credited_cents FROM meter_records r JOIN meters m ON m.serial = r.serial WHERE m.mailer_id = $1',
      [mailer?.id],
    );
    const [refills] = await sql(
      'SELECT SUM(amount_cents) AS total FROM refills WHERE mailer_id = $1',
      [mailer?.id],
    );
    expect(Number(refills?.total)).toBe(5000);
    expect(Number(record?.ascending_cents)).toBe(384);
    expect(Number(record?.descending_cents)).toBe(5000 - 384);
    expect(existsSync(join(dc.dir, 'datacenter.db'))).toBe(false);
    const config = JSON.parse(await readFile(join(dc.dir, 'datacenter.json'), 'utf8')) as {
      database?: { engine: string; location: string };
    };
    expect(config.database).toEqual({
      engine: 'postgres',
      location: `127.0.0.1:${postgres.port}/${database.split('/').at(-1)}`,
    });
    expect(JSON.stringify(config)).not.toMatch(/postgres:\/\//);

    // The administrator's tools read the same database.
    const alerts = await vpm(['datacenter', 'alerts', '--data', dc.dir, '--database', database]);
    expect(alerts.code, alerts.stderr).toBe(0);
    expect(alerts.stdout).toMatch(/No fraud alerts/);
  });

  it('refuses a start without --database, or with another data center’s database', async () => {
    const share = join(home, 'custodian-1.share');
    await writeFile(share, await readFile(join(dc.shareDir, 'custodian-1.share')));
    await dc.stop(); // (removes the share folder)
    const shares = ['--share', share];
    const without = await vpm(['datacenter', 'start', '--data', dc.dir, '--port', '0', ...shares]);
    expect(without.code).not.toBe(0);
    expect(without.stderr).toMatch(/keeps its records in PostgreSQL .*start it with --database/);
    const other = await postgres.createDatabase();
    const wrong = await vpm([
      'datacenter',
      'start',
      '--data',
      dc.dir,
      '--port',
      '0',
      ...shares,
      '--database',
      other,
    ]);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/not at .*give --database the URL of that database/);
    const alerts = await vpm(['datacenter', 'alerts', '--data', dc.dir]);
    expect(alerts.code).not.toBe(0);
    expect(alerts.stderr).toMatch(/--database/);
  });
});
