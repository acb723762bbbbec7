/**
 * @module bench/faults
 * The fault campaigns of issue 9, "Proof under load and faults": what lets a postal operator
 * trust the data center (DESIGN.md, "Freshness and crash safety").
 *   crash  — kill -9 the data center process, and separately a box process, at random moments
 *            under concurrent load; restart; check the money and the records.
 *   tamper — random single-byte edits of meter records, records swapped between meters, stale
 *            records (rollbacks): each refused, each alerted, nothing dispensed; a MAC or
 *            freshness failure suspends the meter until an administrator reinstates it.
 *   fuzz   — fast-check bodies, headers and paths for every route: only 4xx with the JSON error
 *            shape (never 5xx), and nothing changed by a refused request.
 *   abuse  — password guessing makes the guessing source wait, while the owner still signs on
 *            from elsewhere (no lockout by a stranger); one mailer cannot reach another's meter,
 *            history or refunds; the (r, n − s) copy of a piece is not postage; a scan and a
 *            refund sent together never both use a piece.
 *   nodes  — a box pool of two meter shards and two API nodes (processes) on one PostgreSQL
 *            database: kill -9 of one node
 *            under load (clients fail over to the other: nothing charged twice, every indicium
 *            received is recorded); kill -9 of one meter shard (its meters get a retryable 503
 *            until the pool restarted it, the other shard's meters go on).
 *   postgres — a data center on PostgreSQL: the database restarted (pg_ctl) and killed (kill -9)
 *            under load: refused requests say 503 "try again" and are answered when sent again;
 *            no piece twice, every indicium received recorded, registers add up
 *            (postgres-faults.ts).
 *   box files — with the data center stopped: a byte of a box's key, snapshot or log file
 *            changed, or a file swapped between boxes, refuses the start naming the box; fewer
 *            shares than the quorum refuse it too (box-file-faults.ts).
 * Small by default (CI); `long` for deep runs.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Agent, request } from 'undici';
import type Database from 'better-sqlite3';
import {
  createScannerToken,
  initDataCenter,
  startDataCenter,
  type RunningDataCenter,
} from '../server-mock/index';
import { PAYLOAD_LENGTH } from '../shared/indicium/codec';
import { boxFileAttacks } from './box-file-faults';
import { checkDatabase, restartPostgresUnderLoad } from './postgres-faults';
import { startPostgres } from './postgres-server';
import { malleate } from '../shared/indicium/low-s';
import { shardOfSerial, type BoxSet } from '../server-mock/boxes/index';
import type { BenchClient } from './mailer-client';
import {
  duplicateAscending,
  ledgerProblems,
  meterRow,
  moneySnapshot,
  openDb,
  RECORD_COLUMNS,
  unrecorded,
  writeRecord,
  type MeterRow,
} from './database';
import {
  closeMailers,
  makeMailers,
  PASSWORD,
  readCa,
  reconnect,
  runLoad,
  settle,
  sleep,
  spawnBoxPool,
  spawnDataCenter,
  boxPid,
  spec,
  type Mailer,
} from './harness';

export interface FaultCampaignOptions {
  long?: boolean;
  /**
   * Which campaigns: the single data center's ('single'), the nodes' ('nodes'), a data center on
   * PostgreSQL ('postgres'); default all.
   */
  parts?: readonly ('single' | 'nodes' | 'postgres')[];
  log?: (line: string) => void;
}

export interface FaultReport {
  /** One line per property checked, with how many times. */
  checked: string[];
  /** Every violation found; empty when the data center held. */
  problems: string[];
}

interface Sizes {
  dcKills: number;
  boxKills: number;
  mailers: number;
  inFlight: number;
  tampers: number;
  fuzzRuns: number;
  nodeKills: number;
  shardKills: number;
  /** PostgreSQL restarts under load (odd: pg_ctl restart, even: kill -9). */
  pgRestarts: number;
}

const SMALL: Sizes = {
  dcKills: 1,
  boxKills: 1,
  mailers: 2,
  inFlight: 3,
  tampers: 6,
  fuzzRuns: 40,
  nodeKills: 1,
  shardKills: 1,
  pgRestarts: 2,
};
const LONG: Sizes = {
  dcKills: 10,
  boxKills: 20,
  mailers: 8,
  inFlight: 4,
  tampers: 200,
  fuzzRuns: 1500,
  nodeKills: 5,
  shardKills: 5,
  pgRestarts: 10,
};

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

class Campaign {
  readonly checked = new Map<string, number>();
  readonly problems: string[] = [];
  constructor(
    readonly log: (line: string) => void,
    /** The client parts the campaigns drive (handed in: bench/mailer-client.ts). */
    readonly parts: BenchClient,
  ) {}

  check(what: string, ok: boolean, detail = ''): void {
    this.checked.set(what, (this.checked.get(what) ?? 0) + 1);
    if (!ok) {
      this.problems.push(`${what}${detail ? `: ${detail}` : ''}`);
      this.log(`  PROBLEM ${what}${detail ? `: ${detail}` : ''}`);
    }
  }
}

/** The invariants after a crash and restart, plus "every meter still dispenses". */
async function checkAfterCrash(
  c: Campaign,
  dir: string,
  received: string[],
  mailers: Mailer[],
): Promise<void> {
  const db = openDb(dir);
  try {
    const ledger = ledgerProblems(db);
    c.check(
      'ascending + descending = credited, pieces add up',
      ledger.length === 0,
      ledger.join('; '),
    );
    const dup = duplicateAscending(db);
    c.check('no two pieces share (meter, ascending register)', dup.length === 0, dup.join(', '));
    const missing = unrecorded(db, received);
    c.check(
      'every indicium a client received is recorded',
      missing.length === 0,
      `${missing.length} of ${received.length} missing`,
    );
  } finally {
    db.close();
  }
  for (const m of mailers) {
    try {
      await m.client.dispense({ pieces: [spec(1)] });
      c.check('every meter still dispenses after the restart', true);
    } catch (error) {
      c.check(
        'every meter still dispenses after the restart',
        false,
        `${m.serial}: ${String(error)}`,
      );
    }
  }
}

async function crashDataCenter(
  c: Campaign,
  dir: string,
  shares: string[],
  s: Sizes,
): Promise<void> {
  const caPem = await readCa(dir);
  let dc = await spawnDataCenter(dir, { shares });
  let mailers = await makeMailers(c.parts, dc.url, caPem, s.mailers, 10_000_000, 'crash');
  try {
    for (let round = 1; round <= s.dcKills; round++) {
      let stop!: () => void;
      const load = runLoad(mailers, s.inFlight, new Promise<void>((r) => (stop = r)));
      const at = randomInt(100, 1500);
      await sleep(at);
      await dc.crash();
      stop();
      const outcome = await load;
      await closeMailers(mailers);
      dc = await spawnDataCenter(dir, { shares });
      mailers = reconnect(mailers, dc.url, caPem);
      const retried = await settle(outcome, mailers);
      c.check(
        'a retried key after a crash is answered (same indicium or a fresh one), never refused',
        Object.keys(retried.refused).length === 0,
        JSON.stringify(retried.refused),
      );
      await checkAfterCrash(c, dir, outcome.received, mailers);
      c.log(
        `  data center kill ${round}/${s.dcKills} at ${at} ms: ${outcome.ok} answered, ${retried.replayed} replayed and ${retried.fresh} fresh on retry`,
      );
    }
  } finally {
    await closeMailers(mailers);
    await dc.stop();
  }
}

async function crashBoxes(
  c: Campaign,
  dir: string,
  running: RunningDataCenter,
  s: Sizes,
): Promise<void> {
  const caPem = await readCa(dir);
  const boxes = running.boxes as BoxSet;
  const mailers = await makeMailers(c.parts, running.url, caPem, s.mailers, 10_000_000, 'boxcrash');
  try {
    for (let round = 1; round <= s.boxKills; round++) {
      const name = round % 3 === 0 ? (['auth', 'txn'] as const)[round % 2]! : 'meter';
      let stop!: () => void;
      const load = runLoad(mailers, s.inFlight, new Promise<void>((r) => (stop = r)));
      const at = randomInt(100, 1000);
      await sleep(at);
      const pid = boxes.pids()[name];
      if (pid) process.kill(pid, 'SIGKILL');
      await sleep(randomInt(20, 300));
      await boxes.restart(name);
      await sleep(200);
      stop();
      const outcome = await load;
      const retried = await settle(outcome, mailers);
      c.check(
        'a retried key after a box crash is answered, never refused',
        Object.keys(retried.refused).length === 0,
        JSON.stringify(retried.refused),
      );
      await checkAfterCrash(c, dir, outcome.received, mailers);
      c.log(
        `  ${name} box kill ${round}/${s.boxKills} at ${at} ms: ${outcome.ok} answered, ${JSON.stringify(outcome.errors)} while down`,
      );
    }
  } finally {
    await closeMailers(mailers);
  }
}

/**
 * Several API nodes on a box pool of two meter shards, in their own data directory: kill -9 of
 * one node under load, then of one meter shard, each followed by the crash invariants.
 */
async function crashNodes(c: Campaign, s: Sizes, log: (line: string) => void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vpm-faults-nodes-'));
  const socketDir = join(dir, 'pool');
  // The nodes share one PostgreSQL database (not durable: no machine crashes here).
  const postgres = await startPostgres({ durable: false });
  const database = await postgres.createDatabase();
  const { shares } = await initDataCenter(dir, { database });
  const caPem = await readCa(dir);
  const pool = await spawnBoxPool(dir, { shares, socketDir, shards: 2 });
  const node = () => spawnDataCenter(dir, { shares, boxes: socketDir, database });
  const nodes = [await node(), await node()];
  /** The invariants, read with SQL, then "every meter still dispenses". */
  const checkAfterNodeCrash = async (received: string[]) => {
    await checkDatabase((w, ok, d) => c.check(w, ok, d), database, received, 'nodes');
    for (const m of mailers) {
      const ok = await m.client.dispense({ pieces: [spec(1)] }).then(
        () => true,
        () => false,
      );
      c.check('nodes: every meter still dispenses after the crash', ok, m.serial);
    }
  };
  const urls = () => nodes.map((n) => n.url).join(',');
  let mailers: Mailer[] = [];
  try {
    // Mailers until each shard has meters (a serial's shard is its hash: random here).
    for (let i = 0; mailers.length < s.mailers || !bothShards(mailers); i++)
      mailers.push(...(await makeMailers(c.parts, urls(), caPem, 1, 10_000_000, `nodes${i}`)));
    for (let round = 1; round <= s.nodeKills; round++) {
      let stop!: () => void;
      const load = runLoad(mailers, s.inFlight, new Promise<void>((r) => (stop = r)));
      const at = randomInt(100, 1500);
      await sleep(at);
      const victim = nodes.shift()!;
      await victim.crash();
      await sleep(300); // the other node serves meanwhile
      stop();
      const outcome = await load;
      const retried = await settle(outcome, mailers);
      c.check(
        'a request retried on the other node after a node crash is answered, never refused',
        Object.keys(retried.refused).length === 0,
        JSON.stringify(retried.refused),
      );
      await checkAfterNodeCrash(outcome.received);
      log(
        `  API node kill ${round}/${s.nodeKills} at ${at} ms: ${outcome.ok} answered, ${retried.replayed} replayed and ${retried.fresh} fresh on retry`,
      );
      nodes.push(await node());
      await closeMailers(mailers);
      mailers = reconnect(mailers, urls(), caPem);
    }
    for (let round = 1; round <= s.shardKills; round++) {
      const shard = round % 2 === 1 ? 1 : 0;
      const name = shard === 0 ? 'meter' : `meter-${shard}`;
      const pid = boxPid(pool.pid, name);
      c.check('the pool runs each meter shard as its own process', pid !== undefined, name);
      if (pid === undefined) continue;
      let stop!: () => void;
      const load = runLoad(mailers, s.inFlight, new Promise<void>((r) => (stop = r)));
      await sleep(randomInt(100, 800));
      process.kill(pid, 'SIGKILL');
      const killedAt = Date.now();
      await sleep(400);
      stop();
      const outcome = await load;
      const others = mailers.filter((m) => shardOfSerial(m.serial, 2) !== shard);
      c.check(
        'kill -9 of one meter shard: only 503 SERVICE_UNAVAILABLE (try again) while it is down',
        Object.keys(outcome.errors).every((code) => code === 'SERVICE_UNAVAILABLE'),
        JSON.stringify(outcome.errors),
      );
      c.check(
        "the other shard's meters are unaffected: they get no error",
        others.every((m) => (outcome.errorsBy.get(m.username) ?? 0) === 0),
        JSON.stringify([...outcome.errorsBy]),
      );
      const retried = await settle(outcome, mailers);
      c.check(
        'a meter of the killed shard dispenses again once the pool restarted it',
        Object.keys(retried.refused).length === 0,
        JSON.stringify(retried.refused),
      );
      await checkAfterNodeCrash(outcome.received);
      log(
        `  meter shard ${name} kill ${round}/${s.shardKills}: ${outcome.ok} answered, ${JSON.stringify(outcome.errors)} while down; served again ${Date.now() - killedAt} ms after the kill at the latest`,
      );
    }
  } finally {
    await closeMailers(mailers);
    for (const node of nodes) await node.stop();
    await pool.stop();
    await postgres.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

const bothShards = (mailers: Mailer[]): boolean =>
  new Set(mailers.map((m) => shardOfSerial(m.serial, 2))).size === 2;

/** The record as the data center reads it (demo is 1 or anything else). */
const asRead = (row: MeterRow) =>
  JSON.stringify(RECORD_COLUMNS.map((k) => (k === 'demo' ? row[k] === 1 : row[k])));

function byteEdit(row: MeterRow): { column: string; row: MeterRow } {
  const column = RECORD_COLUMNS[randomInt(0, RECORD_COLUMNS.length)] as string;
  const text = String(row[column]);
  const at = randomInt(0, text.length);
  const numeric = typeof row[column] === 'number';
  let ch = text[at] as string;
  while (ch === text[at])
    ch = numeric ? String(randomInt(0, 10)) : String.fromCharCode(randomInt(33, 127));
  const edited = text.slice(0, at) + ch + text.slice(at + 1);
  return { column, row: { ...row, [column]: numeric ? Number(edited) : edited } };
}

async function alertCount(running: RunningDataCenter, serial: string): Promise<number> {
  return (await running.dc.alerts()).filter((a) => a.meterSerial === serial).length;
}

async function tamper(
  c: Campaign,
  dir: string,
  running: RunningDataCenter,
  s: Sizes,
): Promise<void> {
  const caPem = await readCa(dir);
  const mailers = await makeMailers(c.parts, running.url, caPem, 3, 1_000_000, 'tamper');
  const db: Database.Database = openDb(dir);
  const kinds: Record<string, number> = {};
  try {
    for (let i = 0; i < s.tampers; i++) {
      const m = mailers[i % mailers.length] as Mailer;
      const other = mailers[(i + 1) % mailers.length] as Mailer;
      const original = meterRow(db, m.serial);
      const pick = Math.random();
      let kind: string;
      let tampered: MeterRow;
      if (pick < 0.6) {
        const edit = byteEdit(original);
        if (asRead(edit.row) === asRead(original)) continue; // not a change of the record
        kind = `byte edit of ${edit.column}`;
        tampered = edit.row;
      } else if (pick < 0.8) {
        kind = 'swap with another meter';
        tampered = meterRow(db, other.serial);
      } else {
        kind = 'rollback to a stale record';
        await m.client.dispense({ pieces: [spec(5)] });
        await m.client.dispense({ pieces: [spec(5)] });
        const current = meterRow(db, m.serial);
        tampered = { ...original }; // two steps behind the box
        Object.assign(original, current); // what to restore afterwards
      }
      kinds[kind.replace(/ of .*/, '')] = (kinds[kind.replace(/ of .*/, '')] ?? 0) + 1;
      writeRecord(db, m.serial, tampered);
      const alertsBefore = await alertCount(running, m.serial);
      const piecesBefore = moneySnapshot(db);
      let code = 'none';
      try {
        await m.client.dispense({ pieces: [spec(7)] });
      } catch (error) {
        code = c.parts.errorCode(error) ?? String(error);
      }
      c.check(
        'a tampered record is refused with METER_INTEGRITY',
        code === 'METER_INTEGRITY',
        `${kind}: ${code}`,
      );
      c.check(
        'a tampered record raises a fraud alert',
        (await alertCount(running, m.serial)) === alertsBefore + 1,
        kind,
      );
      c.check(
        'nothing is dispensed on a tampered record',
        moneySnapshot(db) === piecesBefore,
        kind,
      );
      writeRecord(db, m.serial, original);
      // A MAC or freshness alert suspends the meter in the meter box until an administrator
      // reinstates it; a malformed record never reached a check that could.
      const [last] = (await running.dc.alerts()).filter((a) => a.meterSerial === m.serial);
      const lifted = await running.dc.reinstate(m.serial, 'fault campaign: record restored');
      c.check(
        'a MAC or freshness alert suspends the meter until reinstated',
        (lifted !== null) === (last?.code !== 'METER_RECORD_MALFORMED'),
        `${kind}: ${last?.code}`,
      );
      try {
        await m.client.dispense({ pieces: [spec(1)] });
        c.check('the restored record dispenses again', true);
      } catch (error) {
        c.check('the restored record dispenses again', false, `${kind}: ${String(error)}`);
      }
    }
    c.log(`  tamper kinds: ${JSON.stringify(kinds)}`);
  } finally {
    db.close();
    await closeMailers(mailers);
  }
}

const ROUTES: { method: string; path: string; auth: boolean; valid: () => object | undefined }[] = [
  {
    method: 'POST',
    path: '/v1/signup',
    auth: false,
    valid: () => ({ username: 'fuzzer', password: PASSWORD, name: 'F', originZip: '94103' }),
  },
  {
    method: 'POST',
    path: '/v1/sessions',
    auth: false,
    valid: () => ({ username: 'x', password: 'y' }),
  },
  { method: 'DELETE', path: '/v1/sessions/current', auth: true, valid: () => undefined },
  { method: 'GET', path: '/v1/account', auth: true, valid: () => undefined },
  {
    method: 'PUT',
    path: '/v1/account/settings',
    auth: true,
    valid: () => ({ lowBalanceCents: 100, autoRefillCents: null }),
  },
  {
    method: 'POST',
    path: '/v1/refills',
    auth: true,
    valid: () => ({
      amountCents: 500,
      cardNumber: '4000000000000002',
      idempotencyKey: 'fuzz-refill',
    }),
  },
  { method: 'POST', path: '/v1/pieces', auth: true, valid: () => ({ pieces: [spec(10)] }) },
  {
    method: 'POST',
    path: '/v1/refunds',
    auth: true,
    valid: () => ({ pieceId: '00000000-0000-8000-8000-000000000000' }),
  },
  { method: 'GET', path: '/v1/history', auth: true, valid: () => undefined },
  { method: 'GET', path: '/v1/history.csv', auth: true, valid: () => undefined },
  { method: 'GET', path: '/v1/certificates', auth: false, valid: () => undefined },
  { method: 'GET', path: '/v1/certificates/0123456789abcdef', auth: false, valid: () => undefined },
  { method: 'POST', path: '/v1/verify', auth: false, valid: () => ({ indicium: 'AAAA' }) },
  { method: 'POST', path: '/v1/scans', auth: true, valid: () => ({ indicium: 'AAAA' }) },
  { method: 'GET', path: '/v1/admin/alerts', auth: true, valid: () => undefined },
];

const safeText = fc.string({
  unit: fc.constantFrom(...'abcXYZ019-_./%?=&~ :;{}"\'\\'.split('')),
  maxLength: 40,
});

/** A body: random JSON, a valid body with one field replaced, or bytes that are not JSON. */
const bodyArb = (valid: object | undefined) =>
  fc.oneof(
    fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)),
    valid
      ? fc
          .tuple(fc.constantFrom(...Object.keys(valid)), fc.jsonValue({ maxDepth: 2 }))
          .map(([k, v]) => JSON.stringify({ ...valid, [k]: v }))
      : fc.constant('{}'),
    safeText,
    fc.constant(undefined),
  );

async function fuzz(c: Campaign, dir: string, running: RunningDataCenter, s: Sizes): Promise<void> {
  const caPem = await readCa(dir);
  const [mailer] = await makeMailers(c.parts, running.url, caPem, 1, 10_000, 'fuzz');
  const token = (mailer as Mailer).client.token as string;
  const agent = new Agent({ connect: { ca: caPem } });
  const db = openDb(dir);
  const statuses: Record<string, number> = {};
  try {
    const requestArb = fc.record({
      route: fc.constantFrom(...ROUTES),
      pathSuffix: fc.oneof(
        fc.constant(''),
        fc.constant(''),
        safeText.map((t) => encodeURI(t)),
      ),
      auth: fc.constantFrom('valid', 'none', 'forged', 'garbage'),
      contentType: fc.constantFrom(
        'application/json',
        'text/plain',
        'application/json; charset=utf-8',
        '',
      ),
      method: fc.oneof(fc.constant(null), fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH')),
      seed: fc.integer(),
    });
    await fc.assert(
      fc.asyncProperty(
        requestArb.chain((r) => bodyArb(r.route.valid()).map((body) => ({ ...r, body }))),
        async (r) => {
          // Sign-out would end the fuzzer's session; it is fuzzed with the other tokens only.
          const auth =
            r.route.path === '/v1/sessions/current' && r.auth === 'valid' ? 'forged' : r.auth;
          const headers: Record<string, string> = {};
          if (auth === 'valid') headers.authorization = `Bearer ${token}`;
          if (auth === 'forged') headers.authorization = `Bearer ${'A'.repeat(43)}`;
          if (auth === 'garbage') headers.authorization = `Token ${r.seed}`;
          if (r.body !== undefined && r.contentType) headers['content-type'] = r.contentType;
          const method = r.method ?? r.route.method;
          const before = moneySnapshot(db);
          const response = await request(new URL(r.route.path + r.pathSuffix, running.url), {
            method: method as 'GET',
            dispatcher: agent,
            headers,
            body: method === 'GET' ? undefined : r.body,
          });
          const text = await response.body.text();
          const status = response.statusCode;
          const key = `${Math.floor(status / 100)}xx`;
          statuses[key] = (statuses[key] ?? 0) + 1;
          c.check(
            'never a 5xx',
            status < 500,
            `${method} ${r.route.path}${r.pathSuffix}: ${status} ${text.slice(0, 200)}`,
          );
          if (status >= 400) {
            let shaped = false;
            try {
              const e = (JSON.parse(text) as { error?: { code?: unknown; message?: unknown } })
                .error;
              shaped = typeof e?.code === 'string' && typeof e.message === 'string';
            } catch {
              shaped = false;
            }
            c.check(
              'a refusal has the { error: { code, message } } shape',
              shaped,
              text.slice(0, 200),
            );
            c.check(
              'a refused request changes nothing',
              moneySnapshot(db) === before,
              `${method} ${r.route.path}`,
            );
          }
        },
      ),
      { numRuns: s.fuzzRuns },
    );
  } catch (error) {
    c.check('fuzz property', false, String(error).slice(0, 1000));
  } finally {
    c.log(`  fuzz answers: ${JSON.stringify(statuses)}`);
    db.close();
    await agent.close();
    await (mailer as Mailer).client.close();
  }
}

/** One JSON request from a given loopback source address (a client of its own). */
async function from(
  agent: Agent,
  url: string,
  method: 'GET' | 'POST',
  path: string,
  body?: object,
  token?: string,
): Promise<{ status: number; code: string; body: Record<string, unknown>; retryAfter: number }> {
  const response = await request(new URL(path, url), {
    method,
    dispatcher: agent,
    headers: {
      ...(body ? { 'content-type': 'application/json' } : {}),
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const parsed = (await response.body.json().catch(() => ({}))) as Record<string, unknown>;
  return {
    status: response.statusCode,
    code: String((parsed.error as { code?: string } | undefined)?.code ?? 'OK'),
    body: parsed,
    retryAfter: Number(response.headers['retry-after'] ?? 0),
  };
}

async function abuse(c: Campaign, dir: string, running: RunningDataCenter): Promise<void> {
  const caPem = await readCa(dir);
  const [a, b, victim] = (await makeMailers(c.parts, running.url, caPem, 3, 5000, 'abuse')) as [
    Mailer,
    Mailer,
    Mailer,
  ];
  const stranger = new Agent({ connect: { ca: caPem }, localAddress: '127.0.0.2' });
  const owner = new Agent({ connect: { ca: caPem }, localAddress: '127.0.0.3' });
  const post = new Agent({ connect: { ca: caPem } });
  try {
    // A stranger guessing the victim's password from one address.
    const codes: string[] = [];
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const answer = await from(stranger, running.url, 'POST', '/v1/sessions', {
        username: victim.username,
        password: `guess number ${i}`,
      });
      codes.push(answer.code);
      if (answer.status === 429) waits.push(answer.retryAfter);
    }
    c.check(
      'password guessing makes the guessing source wait (429 with Retry-After)',
      codes.slice(3).every((x) => x === 'RATE_LIMITED') && waits.every((w) => w >= 1),
      `${codes.join(',')} ${waits.join(',')}`,
    );
    const strangerRight = await from(stranger, running.url, 'POST', '/v1/sessions', {
      username: victim.username,
      password: PASSWORD,
    });
    c.check(
      'the guessing source waits even with the right password',
      strangerRight.code === 'RATE_LIMITED',
      strangerRight.code,
    );
    const ownerIn = await from(owner, running.url, 'POST', '/v1/sessions', {
      username: victim.username,
      password: PASSWORD,
    });
    c.check(
      'a stranger cannot lock the owner out: the owner signs on from another address',
      ownerIn.status === 200,
      ownerIn.code,
    );
    c.check(
      'the guessing is alerted',
      (await running.dc.alerts()).some(
        (x) => x.code === 'LOGIN_THROTTLED' && x.reason.includes(victim.username),
      ),
    );
    const unknown = await from(owner, running.url, 'POST', '/v1/sessions', {
      username: `${victim.username}-nobody`,
      password: 'guess number 0',
    });
    const wrong = await from(owner, running.url, 'POST', '/v1/sessions', {
      username: a.username,
      password: 'guess number 0',
    });
    c.check(
      'an unknown user name gets the answer a wrong password gets',
      unknown.status === wrong.status &&
        JSON.stringify(unknown.body) === JSON.stringify(wrong.body),
      `${JSON.stringify(unknown.body)} vs ${JSON.stringify(wrong.body)}`,
    );

    const piece = (await a.client.dispense({ pieces: [spec(100)] })).pieces[0]!;
    let refund = 'OK';
    try {
      await b.client.refund({ pieceId: piece.pieceId });
    } catch (error) {
      refund = c.parts.errorCode(error) ?? String(error);
    }
    c.check("a mailer cannot refund another's piece", refund === 'PIECE_NOT_FOUND', refund);
    const history = await b.client.history({ q: piece.pieceId });
    c.check("a mailer cannot see another's history", history.total === 0);
    const csv = await b.client.historyCsv();
    c.check("a mailer's CSV holds only its own pieces", !csv.includes(piece.pieceId));
    await b.client.dispense({ pieces: [spec(50, piece.idempotencyKey as string)] });
    const [accA, accB] = [await a.client.account(), await b.client.account()];
    c.check(
      "a mailer cannot spend another's meter",
      accA.balanceCents === 4900 && accB.balanceCents === 4950,
      `${accA.balanceCents} ${accB.balanceCents}`,
    );

    // The malleable copy: the same payload with the other valid signature (r, n − s).
    const scanner = await createScannerToken(dir, 'fault-campaign');
    const bytes = Buffer.from(piece.indicium, 'base64');
    const copy = Buffer.concat([
      bytes.subarray(0, PAYLOAD_LENGTH),
      Buffer.from(malleate(bytes.subarray(PAYLOAD_LENGTH))),
    ]).toString('base64');
    const scan = (indicium: string) =>
      from(post, running.url, 'POST', '/v1/scans', { indicium }, scanner);
    const verdicts = [
      (await from(post, running.url, 'POST', '/v1/verify', { indicium: copy })).body.verdict,
      (await scan(copy)).body.verdict,
      (await scan(piece.indicium)).body.verdict,
      (await scan(copy)).body.verdict,
    ];
    c.check(
      'the (r, n − s) copy of a piece is refused, and the piece is scanned once',
      JSON.stringify(verdicts) ===
        JSON.stringify(['bad-signature', 'bad-signature', 'valid', 'bad-signature']),
      verdicts.join(','),
    );
    let refundScanned = 'OK';
    try {
      await a.client.refund({ pieceId: piece.pieceId });
    } catch (error) {
      refundScanned = c.parts.errorCode(error) ?? String(error);
    }
    c.check(
      'a scanned piece is not refunded',
      refundScanned === 'REFUND_NOT_ALLOWED',
      refundScanned,
    );

    // Scan and refund sent a few milliseconds apart: one of them uses the piece, never both.
    const racing = (await a.client.dispense({ pieces: Array.from({ length: 24 }, () => spec(10)) }))
      .pieces;
    const outcomes = await Promise.all(
      racing.map(async (p, i) => {
        const [scanned, refunded] = await Promise.all([
          sleep(i % 3).then(() => scan(p.indicium)),
          sleep((i + 1) % 4).then(() =>
            a.client.refund({ pieceId: p.pieceId }).then(
              () => true,
              () => false,
            ),
          ),
        ]);
        return Number(scanned.body.verdict === 'valid') + Number(refunded);
      }),
    );
    c.check(
      'a scan and a refund sent together: each piece used exactly once',
      outcomes.every((n) => n === 1),
      outcomes.join(''),
    );
  } finally {
    await Promise.all([stranger.close(), owner.close(), post.close()]);
    await closeMailers([a, b, victim]);
  }
}

/**
 * Runs every campaign on a fresh data center; prints what was checked and returns the report.
 * `client`: the client parts they drive, handed in by the composition root (app/bench-client.ts).
 */
export async function runFaultCampaign(
  client: BenchClient,
  options: FaultCampaignOptions = {},
): Promise<FaultReport> {
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const s = options.long ? LONG : SMALL;
  const parts = options.parts ?? ['single', 'nodes', 'postgres'];
  const c = new Campaign(log, client);
  if (parts.includes('single')) await singleDataCenter(c, s, log, options.long ?? false);
  if (parts.includes('nodes')) {
    log('nodes: kill -9 of one API node, then of one meter shard, under load');
    await crashNodes(c, s, log);
  }
  if (parts.includes('postgres')) {
    log('postgres: PostgreSQL restarted and killed under load, requests retried, then checked');
    await restartPostgresUnderLoad(client, (w, ok, d) => c.check(w, ok, d), log, {
      restarts: s.pgRestarts,
      mailers: s.mailers,
      inFlight: s.inFlight,
    });
  }
  const checked = [...c.checked].map(([what, n]) => `${what} (${n}×)`);
  log('Checked:');
  for (const line of checked) log(`  ✓ ${line}`);
  log(c.problems.length === 0 ? 'No problems found.' : `${c.problems.length} problem(s) found.`);
  return { checked, problems: c.problems };
}

/** The campaigns of one data center (its own boxes), on a fresh data directory. */
async function singleDataCenter(
  c: Campaign,
  s: Sizes,
  log: (line: string) => void,
  long: boolean,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'vpm-faults-'));
  try {
    const { shares } = await initDataCenter(dir);
    log(`Fault campaign (${long ? 'long' : 'small'}) in ${dir}`);
    log('crash: kill -9 the data center process under load, restart, check');
    await crashDataCenter(c, dir, shares, s);
    const running = await startDataCenter({
      dataDir: dir,
      port: 0,
      shares,
      authRateLimit: 100_000,
    });
    try {
      log('crash: kill -9 a box process under load, restart it, check');
      await crashBoxes(c, dir, running, s);
      log('tamper: byte edits, swaps and rollbacks of meter records');
      await tamper(c, dir, running, s);
      // Abuse before fuzz: the fuzzer's failed sign-ons make its own address wait.
      log('abuse: password guessing, cross-mailer access, malleable copies, scan/refund races');
      await abuse(c, dir, running);
      log('fuzz: generated bodies, headers and paths on every route');
      await fuzz(c, dir, running, s);
    } finally {
      await running.close();
    }
    log('box files: edits and swaps of box key, snapshot and log files; too few shares');
    await boxFileAttacks((w, ok, d) => c.check(w, ok, d), log, dir, shares, long);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
