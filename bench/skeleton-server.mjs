// The benchmark's skeleton of the data center (`vpm bench --skeleton`, issue 17's latency goal):
// the work the design asks of a dispense, in the product's shape, without the product's
// framework. It takes the bare-HTTPS floor server's place, driven by the same load generator at
// the same rates, so that one run says whether the design's own work fits the latency goal on
// this host, apart from what Fastify, the flows and the box program add. Per request:
//   - a node:https server: the bearer token's SHA-256, the JSON body and a check of its fields;
//   - the meter's turn (one dispense of a meter at a time), then in one read transaction the meter
//     record and the pieces already stored under the request's ids (better-sqlite3, WAL);
//   - a frame to a box process (a pipe; frames of one event-loop turn written together) that
//     checks the grant it remembers, verifies the record's HMAC and freshness against its NVM,
//     signs one indicium (ECDSA P-256), MACs the new record, seals the batch's NVM entries (the
//     meter's whole entry with its journal, AES-256-GCM) into an appended log record, and answers
//     after an fsync that began after the append (one fsync in flight, as the meter box does);
//   - a group commit on a writer thread (synchronous=FULL): the record's update at the expected
//     counter and the piece's row, under the schema's unique indexes and a tracking number; a
//     checkpointer thread copies the log back every 200 ms and the writer rewinds it once a second;
//   - the answer, a dispense answer's JSON.
// It keeps no promise beyond that: no sessions table, no idempotency replay, no recovery. Started
// by https-floor.ts with `<cert> <key> <answerBytes>` (the last unused); prints its port and its
// box process's pid. One file, three roles: the server, the box (`box <dir>`), and its threads.
import { spawn } from 'node:child_process';
import {
  createCipheriv,
  createHash,
  createHmac,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  timingSafeEqual,
} from 'node:crypto';
import { fsync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const METERS = 256;
const MAC_KEY = Buffer.alloc(32, 7);
/** The record's MAC input: every field but the MAC, in a fixed order. */
const macInput = (r) =>
  [
    r.serial,
    r.accountId,
    r.status,
    r.demo,
    r.ascendingCents,
    r.descendingCents,
    r.creditedCents,
    r.counter,
    r.wrappedKey,
    r.certificateSerial,
    r.keyVersion,
    r.macPeriod,
  ].join('|');
const macOf = (input) => createHmac('sha256', MAC_KEY).update(input).digest('base64');

/** u32 length, then the JSON. */
function frame(message) {
  const text = JSON.stringify(message);
  const bytes = Buffer.allocUnsafe(4 + Buffer.byteLength(text));
  bytes.writeUInt32BE(bytes.length - 4, 0);
  bytes.write(text, 4);
  return bytes;
}

/** Calls `onFrame` with each whole frame's bytes from a stream of chunks. */
function frameReader(onFrame) {
  let pending = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) break;
      onFrame(pending.subarray(4, 4 + length));
      pending = pending.subarray(4 + length);
    }
  };
}

const SCHEMA = `
  CREATE TABLE meter_records (serial TEXT PRIMARY KEY, account_id TEXT, status TEXT, demo INTEGER,
    ascending_cents INTEGER, descending_cents INTEGER, credited_cents INTEGER, counter INTEGER,
    wrapped_key TEXT, certificate_serial TEXT, key_version INTEGER, mac TEXT, mac_period INTEGER,
    updated_at TEXT);
  CREATE TABLE pieces (piece_id TEXT PRIMARY KEY, meter_serial TEXT, mailer_id TEXT,
    idempotency_key TEXT, ascending_cents INTEGER, descending_cents INTEGER, postage_cents INTEGER,
    mail_class TEXT, origin_zip TEXT, destination_zip TEXT, mailing_date TEXT, indicium BLOB,
    created_at TEXT, status TEXT, tracking_number TEXT, weight_oz INTEGER,
    UNIQUE (meter_serial, ascending_cents), UNIQUE (mailer_id, idempotency_key));
  CREATE INDEX pieces_by_tracking ON pieces (tracking_number) WHERE tracking_number IS NOT NULL;
  CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
  INSERT INTO counters VALUES ('tracking', 0);`;

function createDatabase(path) {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.exec(SCHEMA);
  const insert = db.prepare('INSERT INTO meter_records VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
  for (let i = 0; i < METERS; i++) {
    const r = {
      serial: i.toString(16).padStart(16, '0'),
      accountId: randomUUID(),
      status: 'active',
      demo: false,
      ascendingCents: 0,
      descendingCents: 1e12,
      creditedCents: 1e12,
      counter: 0,
      wrappedKey: 'w'.repeat(120),
      certificateSerial: 'c'.repeat(32),
      keyVersion: 1,
      macPeriod: 1,
    };
    insert.run(
      ...[r.serial, r.accountId, r.status, 0, r.ascendingCents, r.descendingCents],
      ...[r.creditedCents, r.counter, r.wrappedKey, r.certificateSerial, r.keyVersion],
      ...[macOf(macInput(r)), r.macPeriod, new Date().toISOString()],
    );
  }
  db.close();
}

// The writer thread: one group commit at a time, of everything that arrived meanwhile.
function runWriter({ path }) {
  const db = new Database(path);
  db.pragma('synchronous = FULL');
  db.pragma('wal_autocheckpoint = 0');
  const update = db.prepare(
    'UPDATE meter_records SET ascending_cents = ?, descending_cents = ?, counter = ?, mac = ?, updated_at = ? WHERE serial = ? AND counter = ?',
  );
  const insert = db.prepare('INSERT INTO pieces VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)');
  const serials = db.prepare(
    "UPDATE counters SET value = value + ? WHERE name = 'tracking' RETURNING value",
  );
  const commit = db.transaction((items) =>
    items.map(({ id, record: r, expected, rows }) => {
      const now = new Date().toISOString();
      if (
        update.run(r.ascendingCents, r.descendingCents, r.counter, r.mac, now, r.serial, expected)
          .changes !== 1
      )
        return [id, null];
      const last = serials.get(rows.length).value;
      return [
        id,
        rows.map((p, i) => {
          const tracking = `9400${String(last - rows.length + 1 + i).padStart(18, '0')}`;
          insert.run(
            ...[p.pieceId, p.meterSerial, p.mailerId, p.idempotencyKey, p.ascendingCents],
            ...[p.descendingCents, p.postageCents, p.mailClass, p.originZip, p.destinationZip],
            ...[p.mailingDate, p.indicium, p.createdAt, 'issued', tracking, null],
          );
          return tracking;
        }),
      ];
    }),
  );
  let queue = [];
  let busy = false;
  let rewound = Date.now();
  const drain = () => {
    if (busy || queue.length === 0) return;
    busy = true;
    setImmediate(() => {
      const items = queue;
      queue = [];
      parentPort.postMessage(commit(items));
      busy = false;
      if (Date.now() - rewound > 1000) {
        // The checkpointer has copied the log back: start it over (returns at once if in use).
        rewound = Date.now();
        db.pragma('wal_checkpoint(RESTART)');
      }
      drain();
    });
  };
  parentPort.on('message', (item) => {
    queue.push(item);
    drain();
  });
}

function runCheckpointer({ path }) {
  const db = new Database(path);
  setInterval(() => db.pragma('wal_checkpoint(PASSIVE)'), 200);
}

// The box process: commands in batches, each batch's NVM entries one sealed log record, answers
// after the fsync that follows it.
function runBox(dir) {
  const fileKey = randomBytes(32);
  const log = openSync(join(dir, 'state.log'), 'a');
  const tokenKeys = new Map();
  const nvm = new Map();
  const grants = new Map();
  let staged = new Map();
  let seq = 0;
  let unsynced = [];
  let syncing = false;
  const queue = [];
  let draining = false;

  const tokenKey = (serial) => {
    let key = tokenKeys.get(serial);
    if (!key) {
      const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const spki = pair.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
      key = { privateKey: pair.privateKey, spki };
      tokenKeys.set(serial, key);
    }
    return key;
  };

  const dispense = ({ record, pieces, auth, requestId }) => {
    const seen = grants.get(auth.grant.signature);
    if (!seen) grants.set(auth.grant.signature, { ...auth.grant });
    else if (seen.mailerId !== auth.grant.mailerId || seen.tokenHash !== auth.grant.tokenHash)
      throw new Error('GRANT_MISMATCH');
    const input = macInput(record);
    const mac = createHmac('sha256', MAC_KEY).update(input).digest();
    if (!timingSafeEqual(mac, Buffer.from(record.mac, 'base64'))) throw new Error('BAD_MAC');
    const digest = createHash('sha256').update(input).digest('base64');
    const entry = nvm.get(record.serial);
    if (entry && (entry.counter !== record.counter || entry.digest !== digest))
      throw new Error('FRESHNESS_MISMATCH');
    const key = tokenKey(record.serial);
    let ascending = record.ascendingCents;
    let descending = record.descendingCents;
    const indicia = pieces.map((p) => {
      ascending += p.postageCents;
      descending -= p.postageCents;
      const payload = Buffer.alloc(92);
      payload.write(record.serial, 0, 'hex');
      payload.writeBigUInt64BE(BigInt(ascending), 8);
      payload.writeBigUInt64BE(BigInt(descending), 16);
      payload.write(p.pieceId, 24, 'hex');
      payload.write(`${p.destinationZip}|${p.mailingDate}|${p.mailClass}`, 40);
      const signature = sign('sha256', payload, { key: key.privateKey, dsaEncoding: 'ieee-p1363' });
      return {
        pieceId: p.pieceId,
        indicium: Buffer.concat([payload, signature]).toString('base64'),
        ascendingCents: ascending,
        descendingCents: descending,
        postageCents: p.postageCents,
      };
    });
    const next = { ...record, ascendingCents: ascending, descendingCents: descending };
    next.counter = record.counter + 1;
    const nextInput = macInput(next);
    next.mac = macOf(nextInput);
    const staging = {
      ...entry,
      counter: next.counter,
      digest: createHash('sha256').update(nextInput).digest('base64'),
      publicKey: key.spki,
      certificateSerial: record.certificateSerial,
      journal: { kind: 'dispense', requestId, indicia, previousDigest: digest, record: next },
    };
    nvm.set(record.serial, staging);
    staged.set(`m:${record.serial}`, staging);
    return { record: next, indicia };
  };

  const syncAndAnswer = () => {
    if (syncing || unsynced.length === 0) return;
    const group = unsynced;
    unsynced = [];
    if (staged.size > 0) {
      const plain = Buffer.from(JSON.stringify({ seq: ++seq, set: Object.fromEntries(staged) }));
      staged = new Map();
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', fileKey, iv);
      const sealed = Buffer.concat([iv, cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
      const head = Buffer.alloc(4);
      head.writeUInt32BE(sealed.length);
      writeSync(log, Buffer.concat([head, sealed]));
    }
    syncing = true;
    fsync(log, (error) => {
      if (error) throw error;
      syncing = false;
      const frames = group.flat().map(frame);
      process.stdout.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
      syncAndAnswer();
    });
  };

  const drain = async () => {
    while (queue.length > 0) {
      const started = performance.now();
      const answers = [];
      let taken = 0;
      while (taken < queue.length) {
        const { id, args } = JSON.parse(queue[taken++].toString('utf8'));
        try {
          answers.push({ id, ok: true, value: dispense(args) });
        } catch (error) {
          answers.push({ id, ok: false, error: error.message });
        }
        // A batch ends after 6 ms of work, as the meter box's does.
        if (performance.now() - started >= 6) break;
      }
      queue.splice(0, taken);
      unsynced.push(answers);
      syncAndAnswer();
      if (queue.length > 0) await new Promise((resolve) => setImmediate(resolve));
    }
    draining = false;
  };

  const read = frameReader((bytes) => queue.push(bytes));
  process.stdin.on('data', (chunk) => {
    read(chunk);
    if (draining) return;
    draining = true;
    setImmediate(() => void drain());
  });
  process.stdin.on('end', () => process.exit(0));
}

function runServer([certPath, keyPath]) {
  const self = fileURLToPath(import.meta.url);
  const dir = mkdtempSync(join(tmpdir(), 'vpm-skeleton-'));
  const path = join(dir, 'datacenter.db');
  createDatabase(path);
  const reader = new Database(path, { readonly: true });
  const recordBySerial = reader.prepare('SELECT * FROM meter_records WHERE serial = ?');
  const pieceById = reader.prepare('SELECT * FROM pieces WHERE piece_id = ?');
  const readState = reader.transaction((serial, ids) => ({
    row: recordBySerial.get(serial),
    pieces: ids.map((id) => pieceById.get(id)),
  }));

  const writer = new Worker(self, { workerData: { role: 'writer', path } });
  new Worker(self, { workerData: { role: 'checkpointer', path } });
  const commits = new Map();
  let nextCommit = 1;
  writer.on('message', (answers) => {
    for (const [id, tracking] of answers) {
      commits.get(id)(tracking);
      commits.delete(id);
    }
  });
  const commit = (item) =>
    new Promise((resolve) => {
      const id = nextCommit++;
      commits.set(id, resolve);
      writer.postMessage({ ...item, id });
    });

  const box = spawn(process.execPath, [self, 'box', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const calls = new Map();
  let nextCall = 1;
  let outbox = [];
  const callBox = (args) =>
    new Promise((resolve, reject) => {
      const id = nextCall++;
      calls.set(id, { resolve, reject });
      outbox.push(frame({ id, args }));
      if (outbox.length === 1)
        setImmediate(() => {
          const frames = outbox;
          outbox = [];
          box.stdin.write(frames.length === 1 ? frames[0] : Buffer.concat(frames));
        });
    });
  box.stdout.on(
    'data',
    frameReader((bytes) => {
      const answer = JSON.parse(bytes.toString('utf8'));
      const call = calls.get(answer.id);
      calls.delete(answer.id);
      if (answer.ok) call.resolve(answer.value);
      else call.reject(new Error(answer.error));
    }),
  );

  // One dispense of a meter at a time.
  const turns = new Map();
  const withMeter = (serial, work) => {
    const run = (turns.get(serial) ?? Promise.resolve()).then(work);
    const settled = run.catch(() => undefined);
    turns.set(serial, settled);
    void settled.then(() => turns.get(serial) === settled && turns.delete(serial));
    return run;
  };

  // Each connection dispenses for a meter of its own (the load generator sends one token).
  const mailers = new Map();
  let connections = 0;
  let pieces = 0;
  const dispense = async (socket, token, body) => {
    const tokenHash = createHash('sha256').update(token).digest('hex');
    let mailerId = mailers.get(tokenHash);
    if (!mailerId) mailers.set(tokenHash, (mailerId = randomUUID()));
    const request = JSON.parse(body);
    const asked = request.pieces;
    if (!Array.isArray(asked) || asked.length < 1 || asked.length > 50) throw new Error('pieces');
    for (const p of asked)
      if (
        typeof p.idempotencyKey !== 'string' ||
        !Number.isSafeInteger(p.postageCents) ||
        typeof p.mailClass !== 'string' ||
        !/^[0-9]{5}(-?[0-9]{4})?$/.test(p.destinationZip)
      )
        throw new Error('piece');
    socket.meter ??= connections++ % METERS;
    const serial = socket.meter.toString(16).padStart(16, '0');
    const today = new Date().toISOString().slice(0, 10);
    // Every request is new here: the load generator repeats its idempotency key.
    const ids = asked.map(() =>
      createHash('sha256').update(`${mailerId}|${pieces++}`).digest('hex').slice(0, 32),
    );
    return withMeter(serial, async () => {
      const { row } = readState(serial, ids);
      const record = {
        serial: row.serial,
        accountId: row.account_id,
        status: row.status,
        demo: row.demo === 1,
        ascendingCents: row.ascending_cents,
        descendingCents: row.descending_cents,
        creditedCents: row.credited_cents,
        counter: row.counter,
        wrappedKey: row.wrapped_key,
        certificateSerial: row.certificate_serial,
        keyVersion: row.key_version,
        mac: row.mac,
        macPeriod: row.mac_period,
      };
      const grant = {
        mailerId,
        tokenHash,
        issuedAt: '2026-12-01T00:00:00.000Z',
        expiresAt: '2027-12-01T00:00:00.000Z',
        signature: tokenHash.repeat(2).slice(0, 96),
      };
      const destinations = asked.map((p) => p.destinationZip.replace('-', ''));
      const result = await callBox({
        requestId: randomUUID(),
        auth: { grant, token },
        record,
        pieces: asked.map((p, i) => ({
          pieceId: ids[i],
          postageCents: p.postageCents,
          mailClass: p.mailClass,
          originZip: '10001',
          destinationZip: destinations[i],
          mailingDate: today,
        })),
      });
      const createdAt = new Date().toISOString();
      const rows = result.indicia.map((x, i) => ({
        pieceId: x.pieceId,
        meterSerial: serial,
        mailerId,
        idempotencyKey: `${asked[i].idempotencyKey}|${x.pieceId}`,
        ascendingCents: x.ascendingCents,
        descendingCents: x.descendingCents,
        postageCents: x.postageCents,
        mailClass: asked[i].mailClass,
        originZip: '10001',
        destinationZip: destinations[i],
        mailingDate: today,
        indicium: Buffer.from(x.indicium, 'base64'),
        createdAt,
      }));
      const tracking = await commit({ record: result.record, expected: record.counter, rows });
      if (!tracking) throw new Error('the record changed meanwhile');
      return {
        pieces: rows.map((r, i) => ({
          pieceId: r.pieceId,
          idempotencyKey: asked[i].idempotencyKey,
          indicium: r.indicium.toString('base64'),
          postageCents: r.postageCents,
          ascendingCents: r.ascendingCents,
          descendingCents: r.descendingCents,
          mailClass: r.mailClass,
          destinationZip: r.destinationZip,
          mailingDate: r.mailingDate,
          createdAt,
          status: 'issued',
          replayed: false,
          trackingNumber: tracking[i],
        })),
        balanceCents: result.record.descendingCents,
      };
    });
  };

  const server = createServer(
    { cert: readFileSync(certPath), key: readFileSync(keyPath) },
    (request, response) => {
      let body = '';
      request.setEncoding('utf8');
      request.on('data', (chunk) => (body += chunk));
      request.on('end', () => {
        const token = (request.headers.authorization ?? '').replace(/^Bearer /, '');
        dispense(request.socket, token, body).then(
          (answer) => {
            const text = JSON.stringify(answer);
            response.writeHead(200, {
              'content-type': 'application/json',
              'content-length': Buffer.byteLength(text),
            });
            response.end(text);
          },
          (error) => {
            const text = JSON.stringify({ error: { code: 'INTERNAL', message: error.message } });
            response.writeHead(500, { 'content-type': 'application/json' });
            response.end(text);
          },
        );
      });
    },
  );
  server.listen(0, '127.0.0.1', () =>
    process.stdout.write(`${server.address().port} ${box.pid}\n`),
  );
  process.on('SIGTERM', () => {
    box.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

if (!isMainThread) {
  if (workerData.role === 'writer') runWriter(workerData);
  else runCheckpointer(workerData);
} else if (process.argv[2] === 'box') runBox(process.argv[3]);
else runServer(process.argv.slice(2));
