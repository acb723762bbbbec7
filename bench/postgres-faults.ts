/**
 * @module bench/postgres-faults
 * The fault campaign of a data center on PostgreSQL (issue 17): the database restarted under
 * load — a clean restart (pg_ctl restart) and a crash (kill -9 of the postmaster, then crash
 * recovery) — while mailers keep dispensing. What must hold: while the database is away every
 * refused request says so with the retryable code (503 SERVICE_UNAVAILABLE, "try again"), never
 * an internal error; each such request, sent again with its idempotency key once the database is
 * back, is answered; and afterwards, read with SQL: no piece recorded twice, every indicium a
 * client received recorded, and per meter the registers add up (ascending = the pieces,
 * ascending + descending = refills + refunds).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { initDataCenter } from '../server-mock/index';
import {
  closeMailers,
  makeMailers,
  readCa,
  reconnect,
  runLoad,
  settle,
  sleep,
  spawnDataCenter,
  spec,
  type Mailer,
} from './harness';
import type { BenchClient } from './mailer-client';
import { startPostgres } from './postgres-server';

type Check = (what: string, ok: boolean, detail?: string) => void;

export interface PostgresFaultSizes {
  /** Restarts under load; odd rounds are clean restarts, even ones kill -9. */
  restarts: number;
  mailers: number;
  inFlight: number;
}

/** The invariants of the database after the outage, read with SQL. */
export async function checkDatabase(
  check: Check,
  url: string,
  received: string[],
  label = 'PostgreSQL restart',
): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    const ledger = await db.query<{ serial: string; problem: string }>(`
      SELECT r.serial,
             r.ascending_cents || ' + ' || r.descending_cents || ' vs refills ' ||
               COALESCE(f.total, 0) || ' + refunds ' || COALESCE(u.total, 0) ||
               ', pieces ' || COALESCE(p.total, 0) AS problem
        FROM meter_records r
        LEFT JOIN (SELECT meter_serial, SUM(amount_cents) AS total FROM refills GROUP BY 1) f
          ON f.meter_serial = r.serial
        LEFT JOIN (SELECT meter_serial, SUM(amount_cents) AS total FROM refunds GROUP BY 1) u
          ON u.meter_serial = r.serial
        LEFT JOIN (SELECT meter_serial, SUM(postage_cents) AS total FROM pieces GROUP BY 1) p
          ON p.meter_serial = r.serial
       WHERE r.ascending_cents + r.descending_cents <> COALESCE(f.total, 0) + COALESCE(u.total, 0)
          OR r.ascending_cents <> COALESCE(p.total, 0)`);
    check(
      `${label}: per meter, pieces = ascending and ascending + descending = refills + refunds`,
      ledger.rowCount === 0,
      ledger.rows.map((r) => `${r.serial}: ${r.problem}`).join('; '),
    );
    const twice = await db.query(
      'SELECT meter_serial, ascending_cents FROM pieces GROUP BY 1, 2 HAVING COUNT(*) > 1',
    );
    check(`${label}: no piece recorded twice`, twice.rowCount === 0);
    const stored = await db.query<{ indicium: Buffer }>(
      'SELECT indicium FROM pieces WHERE indicium = ANY($1::bytea[])',
      [received.map((b64) => Buffer.from(b64, 'base64'))],
    );
    const found = new Set(stored.rows.map((r) => r.indicium.toString('base64')));
    const missing = received.filter((b64) => !found.has(b64));
    check(
      `${label}: every indicium a client received is recorded`,
      missing.length === 0,
      `${missing.length} of ${received.length} missing`,
    );
  } finally {
    await db.end();
  }
}

/** Restarts (or kills) PostgreSQL under load `sizes.restarts` times and checks what must hold. */
export async function restartPostgresUnderLoad(
  parts: BenchClient,
  check: Check,
  log: (line: string) => void,
  sizes: PostgresFaultSizes,
): Promise<void> {
  const postgres = await startPostgres();
  const dir = await mkdtemp(join(tmpdir(), 'vpm-pgfaults-'));
  let mailers: Mailer[] = [];
  let dc: Awaited<ReturnType<typeof spawnDataCenter>> | undefined;
  try {
    const url = await postgres.createDatabase();
    const { shares } = await initDataCenter(dir, { database: url });
    dc = await spawnDataCenter(dir, { shares, database: url });
    const caPem = await readCa(dir);
    mailers = await makeMailers(parts, dc.url, caPem, sizes.mailers, 10_000_000, 'pgfault');
    const received: string[] = [];
    let refusedInAll = 0;
    for (let round = 1; round <= sizes.restarts; round++) {
      const crash = round % 2 === 0;
      let stop!: () => void;
      const load = runLoad(mailers, sizes.inFlight, new Promise<void>((r) => (stop = r)));
      await sleep(300 + Math.floor(Math.random() * 700));
      if (crash) {
        await postgres.kill();
        await sleep(500);
        await postgres.start();
      } else {
        await postgres.restart();
      }
      await sleep(300);
      stop();
      const outcome = await load;
      const codes = Object.keys(outcome.errors);
      const refused = outcome.unanswered.length;
      refusedInAll += refused;
      check(
        'PostgreSQL restart: a request the database could not serve is refused 503 "try again", never a 500',
        codes.every((code) => code === 'SERVICE_UNAVAILABLE'),
        JSON.stringify(outcome.errors),
      );
      // Sessions and meters go on after the restart: the same sessions, on the same node.
      mailers = reconnect(mailers, dc.url, caPem);
      const retried = await settle(outcome, mailers);
      check(
        'PostgreSQL restart: each refused request, sent again with its key, is answered',
        Object.keys(retried.refused).length === 0,
        JSON.stringify(retried.refused),
      );
      received.push(...outcome.received);
      log(
        `  PostgreSQL ${crash ? 'kill -9' : 'restart'} ${round}/${sizes.restarts}: ${outcome.ok} answered, ${refused} refused (${codes.join(', ') || 'none'}), then ${retried.replayed} replayed and ${retried.fresh} fresh on retry`,
      );
    }
    // Else the checks above held for want of an outage, not by the data center's doing.
    check(
      'PostgreSQL restart: the outage reached the clients (some requests were refused)',
      refusedInAll > 0,
    );
    for (const m of mailers) {
      try {
        await m.client.dispense({ pieces: [spec(1)] });
        check('PostgreSQL restart: every meter still dispenses afterwards', true);
      } catch (error) {
        check(
          'PostgreSQL restart: every meter still dispenses afterwards',
          false,
          `${m.serial}: ${String(error)}`,
        );
      }
    }
    await checkDatabase(check, url, received);
  } finally {
    await closeMailers(mailers);
    await dc?.stop();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
