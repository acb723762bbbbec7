/**
 * @module boxes/meter-box
 * The meter box (patent part 44, Fig. 4 steps 200–265). For one meter per command:
 *   205–215 verify the record MAC (METER_RECORD_BAD_MAC)
 *   220–230 compare the record's freshness (counter and digest) with this box's NVM
 *           (FRESHNESS_MISMATCH; UNKNOWN_METER)
 *   235     unwrap the token key (AES-256-GCM under HKDF(wrap master, serial))
 *   240     accounting: ascending += postage, descending −= postage per piece (INSUFFICIENT_FUNDS)
 *   245–250 new counter; the NVM entry (counter, digest, journal) is staged
 *   255     one signed indicium per piece (ECDSA P-256 over the shared indicium payload)
 *   260–265 MAC the new record in the current key period; the NVM is committed (fsync) before
 *           the answer leaves the box (box-main.ts group commit).
 * A box that reports to the postal authority (witness.ts) also refuses a dispense the witness does
 * not allow, and answers each dispense with a signed report (journaled with the record).
 * First use: a MAC-valid record with counter 0 for a serial the NVM does not know is accepted
 * (the steel box's first record) and creates the NVM entry. Once the entry exists, a replayed
 * counter-0 record no longer matches it and is refused. NVM key "m:<serial>" → MeterEntry.
 *
 * Who owns the meter is decided here, not by the data center's tables: dispense and credit carry
 * the authentication box's grant and its bearer token (grant.ts), and the record's signed
 * accountId must be the grant's mailer (GRANT_MISMATCH). A MAC failure, a stale or replayed
 * record (not the journaled predecessor) or a grant mismatch suspends the meter in this box's
 * NVM: it dispenses nothing until reinstate() (an administrator, `vpm datacenter reinstate`).
 * A suspended meter still takes credits with its owner's grant (they only add money). remac()
 * gives the box's own last record a MAC in the current key period, so a dormant meter is never
 * locked by age alone (RECORD_MAC_EXPIRED tells the data center to call it).
 */
import type { KeyObject } from 'node:crypto';
import { createPublicKey } from 'node:crypto';
import { TamperError } from './nvm';
import { assembleIndicium, decodeIndicium, withRegisters } from '../../shared/indicium/codec';
import {
  BoxError,
  type CreditFor,
  type IssuedIndicium,
  type JournalEntry,
  type MailerAuth,
  type MeterRecord,
  type MeterSuspension,
  type PieceRequest,
} from './api';
import { command, secret, type BoxContext, type BoxProgram, type BoxType } from './box-program';
import {
  ecdsaSign,
  ecdsaVerify,
  pairwiseConsistent,
  privateKeyFromPkcs8,
  publicKeyFromSpki,
  sameBytes,
  hmacSha256,
} from './crypto-kit';
import { LRUCache } from 'lru-cache';
import { grantProblem, mailerAuthShape, type VerifiedGrant } from './grant';
import {
  digestOfInput,
  macRecordAndDigest,
  macRecordWithKey,
  MAC_PERIOD_WINDOW,
  periodDistance,
  periodOf,
  recordMacInput,
  recordMacKey,
  sameRecord,
  unwrapTokenKey,
} from './record-mac';
import { journalEntryOf, type JournalBody } from './journal';
import * as v from './validate';
import { createWitness } from './witness';
import { shardIndexOf, shardOfSerial } from './box-types';
import { firstUseCount, poolCommands } from './pool-growth';
import { aesGcmOpen, aesGcmSeal } from './crypto-kit';

export { METER_SOFTWARE_ID } from './validate';

/** What the meter box's NVM holds per meter. */
export interface MeterEntry {
  counter: number;
  digest: string;
  publicKey: string; // SPKI, base64: lets verifyIndicium work without the record
  certificateSerial: string;
  journal: JournalEntry | null;
  /** Set by a fraud alert; only reinstate() clears it. */
  suspension?: MeterSuspension | null;
  /** The last reinstatement: when, why, and what it lifted. */
  reinstated?: { at: string; reason: string; lifted: MeterSuspension } | null;
  /** Hand-overs between shards so far (a stale hand-over is refused by this count). */
  moves?: number;
  /** Set when this shard handed the meter over to another: it serves the meter no more. */
  handedOver?: { to: string; shard: number; at: string } | null;
}

interface TokenKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  spki: string;
}

const KEY_CACHE_LIMIT = 10_000;

/** The meter's next record before its MAC: the same meter with new registers and counter. */
function nextRecord(
  r: MeterRecord,
  registers: Pick<MeterRecord, 'ascendingCents' | 'descendingCents' | 'creditedCents'>,
): Omit<MeterRecord, 'mac' | 'macPeriod'> {
  return {
    serial: r.serial,
    accountId: r.accountId,
    status: r.status,
    demo: r.demo,
    ascendingCents: registers.ascendingCents,
    descendingCents: registers.descendingCents,
    creditedCents: registers.creditedCents,
    counter: r.counter + 1,
    wrappedKey: r.wrappedKey,
    certificateSerial: r.certificateSerial,
    keyVersion: r.keyVersion,
  };
}

const entryKey = (serial: string): string => `m:${serial}`;

function fail(
  code:
    | 'METER_RECORD_BAD_MAC'
    | 'FRESHNESS_MISMATCH'
    | 'UNKNOWN_METER'
    | 'INSUFFICIENT_FUNDS'
    | 'METER_SUSPENDED'
    | 'GRANT_INVALID'
    | 'GRANT_EXPIRED'
    | 'GRANT_MISMATCH'
    | 'RECORD_MAC_EXPIRED'
    | 'WRONG_SHARD'
    | 'BOX_UNAVAILABLE'
    | 'BAD_REQUEST',
  message: string,
  details?: Record<string, unknown>,
): never {
  throw new BoxError(code, message, 'meter', details);
}

function createMeterBox(ctx: BoxContext): BoxProgram {
  const wrapMaster = secret(ctx, 'wrapMaster', 32);
  const recordMaster = secret(ctx, 'recordMaster', 32);
  const witness = createWitness(ctx);
  const grantSpki = ctx.nvm.publicData.grantPublicKey;
  if (!grantSpki) throw new TamperError('keys.json has no grantPublicKey');
  const grantKey = publicKeyFromSpki(Buffer.from(grantSpki, 'base64'));
  /** Grants whose signature verified here (one a session; grant.ts says what is still checked). */
  const verifiedGrants = new LRUCache<string, VerifiedGrant>({ max: 10_000 });
  const keyCache = new Map<string, TokenKey>();
  // HKDF per command cost as much as the signature: the per-meter, per-period MAC keys are kept.
  const macKeys = new LRUCache<string, Buffer>({
    max: KEY_CACHE_LIMIT,
    dispose: (key) => key.fill(0),
  });
  /**
   * The last record this box issued per meter, with its digest: a record presented again with
   * every field the same (MAC and key period included) is one whose MAC this box made with that
   * period's key, so its MAC holds and its digest is this one without computing either again
   * (both are functions of the fields alone). Anything else is checked in full.
   */
  const issued = new LRUCache<string, { record: MeterRecord; digest: string }>({
    max: KEY_CACHE_LIMIT,
  });
  const macKey = (serial: string, period: string): Buffer => {
    const id = `${serial}|${period}`;
    let key = macKeys.get(id);
    if (!key) {
      key = recordMacKey(recordMaster, serial, period);
      macKeys.set(id, key);
    }
    return key;
  };

  /**
   * Fraud response: the meter is suspended in this box's NVM (durable before the refusal is
   * answered). Only for a serial this box knows; the first suspension's reason is kept.
   */
  function suspend(serial: string, code: MeterSuspension['code'], reason: string): void {
    const entry = ctx.nvm.get<MeterEntry>(entryKey(serial));
    if (!entry || entry.suspension) return;
    ctx.nvm.stage(entryKey(serial), {
      ...entry,
      suspension: { code, at: ctx.now().toISOString(), reason },
    } satisfies MeterEntry);
  }

  function badMac(record: MeterRecord, problem: string): never {
    const message = `record ${record.serial}: ${problem}`;
    suspend(record.serial, 'METER_RECORD_BAD_MAC', message);
    return fail('METER_RECORD_BAD_MAC', message);
  }

  /**
   * A pooled shard serves a meter it holds (not handed over), or a meter no shard has served yet
   * whose serial the pool's rule gives it; anything else is another shard's (WRONG_SHARD), so
   * two boxes never serve one meter.
   */
  function checkShard(serial: string): void {
    const shard = ctx.shard;
    if (!shard) return;
    const entry = ctx.nvm.get<MeterEntry>(entryKey(serial));
    if (entry && !entry.handedOver) return;
    // An unused meter: by the rule, with the count this shard's NVM holds (pool-growth.ts).
    const count = firstUseCount(ctx);
    if (!entry && count === undefined)
      fail(
        'BOX_UNAVAILABLE',
        `meter ${serial}: meter shard ${shard.index} takes no new meter while the pool grows; try again once the pool has started`,
      );
    const shards = count ?? shard.count;
    const owner = entry?.handedOver ? entry.handedOver.shard : shardOfSerial(serial, shards);
    if (!entry && owner === shard.index) return;
    fail(
      'WRONG_SHARD',
      `meter ${serial}: served by meter shard ${owner}, not by this shard (${shard.index} of ${shards})`,
      { serial, shard: owner, shards },
    );
  }

  const handoverAad = (serial: string, from: string, to: string): string =>
    `vpm-handover-v1|${serial}|${from}|${to}`;

  /** The MAC under the record's own key period, whatever its age; `input` is its MAC input. */
  function macHolds(record: MeterRecord, input: Buffer): boolean {
    const expected = hmacSha256(macKey(record.serial, record.macPeriod), input);
    return sameBytes(Buffer.from(record.mac, 'base64'), expected);
  }

  /** A record this box may re-MAC: its own last record, or a never-used first record. */
  function isOwnRecord(record: MeterRecord, digest: string): boolean {
    const entry = ctx.nvm.get<MeterEntry>(entryKey(record.serial));
    if (entry) return entry.counter === record.counter && entry.digest === digest;
    return (
      record.counter === 0 &&
      record.creditedCents === 0 &&
      record.ascendingCents === 0 &&
      record.descendingCents === 0
    );
  }

  /**
   * Steps 205–215. `forRemac` accepts a MAC period past the window (remac's whole purpose).
   * Returns the record's freshness digest (recordDigest), made from the MAC input just checked.
   */
  function verifyMac(record: MeterRecord, forRemac = false): string {
    const current = periodOf(ctx.now());
    const age = periodDistance(record.macPeriod, current);
    if (age === undefined || age < 0)
      badMac(record, `key period ${record.macPeriod} is in the future (now ${current})`);
    const known = issued.get(record.serial);
    let digest: string;
    if (known && sameRecord(known.record, record)) digest = known.digest;
    else {
      const input = recordMacInput(record);
      if (!macHolds(record, input)) badMac(record, 'MAC does not verify');
      digest = digestOfInput(input, record.mac);
    }
    if (record.ascendingCents + record.descendingCents !== record.creditedCents) {
      // A MAC-valid record always balances; this one was made with a leaked key.
      badMac(record, 'registers do not balance');
    }
    if (age >= MAC_PERIOD_WINDOW && !forRemac) {
      if (isOwnRecord(record, digest)) {
        fail(
          'RECORD_MAC_EXPIRED',
          `record ${record.serial}: key period ${record.macPeriod} is past the ${MAC_PERIOD_WINDOW}-month window (now ${current}); it is this box's own record: remac it`,
          { serial: record.serial, macPeriod: record.macPeriod },
        );
      }
      badMac(
        record,
        `key period ${record.macPeriod} is outside the accepted window (now ${current})`,
      );
    }
    return digest;
  }

  /** The grant and its token, before anything else (a forged grant touches no meter). */
  function checkAuth(auth: MailerAuth): void {
    const problem = grantProblem(grantKey, auth.grant, ctx.now(), auth.token, verifiedGrants);
    if (problem === 'expired')
      fail('GRANT_EXPIRED', `grant of session ${auth.grant.sessionId}: expired; sign in again`);
    if (problem)
      fail(
        'GRANT_INVALID',
        problem === 'forged'
          ? `grant of session ${auth.grant.sessionId}: the authentication box did not sign it`
          : `grant of session ${auth.grant.sessionId}: the bearer token is not the grant's`,
      );
  }

  /** The record's signed account must be the grant's mailer. */
  function checkOwner(record: MeterRecord, auth: MailerAuth): void {
    if (record.accountId === auth.grant.mailerId) return;
    const message = `meter ${record.serial}: its record belongs to account ${record.accountId}, the grant to mailer ${auth.grant.mailerId}`;
    suspend(record.serial, 'GRANT_MISMATCH', message);
    fail('GRANT_MISMATCH', message, { serial: record.serial });
  }

  /** Steps 220–230. Returns the NVM entry, or undefined for a first use. */
  function checkFreshness(record: MeterRecord, digest: string): MeterEntry | undefined {
    const entry = ctx.nvm.get<MeterEntry>(entryKey(record.serial));
    if (!entry) {
      if (record.counter === 0) return undefined;
      fail('UNKNOWN_METER', `meter ${record.serial}: this meter box has no freshness entry for it`);
    }
    if (record.counter !== entry.counter || digest !== entry.digest) {
      const journaled = entry.journal?.previousDigest === digest;
      if (!journaled)
        suspend(
          record.serial,
          'FRESHNESS_MISMATCH',
          `meter ${record.serial}: a record with counter ${record.counter} was presented; the box issued counter ${entry.counter} last`,
        );
      fail(
        'FRESHNESS_MISMATCH',
        `meter ${record.serial}: record counter ${record.counter} is not the box's last issued record (counter ${entry.counter})` +
          (journaled ? '; it is the predecessor of the journaled record: recover it' : ''),
        {
          serial: record.serial,
          nvmCounter: entry.counter,
          recordCounter: record.counter,
          journaled,
        },
      );
    }
    return entry;
  }

  /** Step 235, with the pairwise-consistency test on first import. */
  function tokenKey(record: MeterRecord, entry: MeterEntry | undefined): TokenKey {
    let key = keyCache.get(record.wrappedKey);
    if (!key) {
      const pkcs8 = unwrapTokenKey(
        wrapMaster,
        record.serial,
        record.keyVersion,
        Buffer.from(record.wrappedKey, 'base64'),
      );
      if (!pkcs8)
        fail(
          'METER_RECORD_BAD_MAC',
          `record ${record.serial}: token key does not unwrap for this serial`,
        );
      const privateKey = privateKeyFromPkcs8(pkcs8);
      pkcs8.fill(0);
      const publicKey = createPublicKey(privateKey);
      if (!pairwiseConsistent(privateKey, publicKey)) {
        fail('METER_RECORD_BAD_MAC', `record ${record.serial}: token key pair is not consistent`);
      }
      const spki = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
      key = { privateKey, publicKey, spki };
      if (keyCache.size >= KEY_CACHE_LIMIT) keyCache.delete(keyCache.keys().next().value as string);
      keyCache.set(record.wrappedKey, key);
    }
    if (entry && entry.publicKey !== key.spki) {
      fail(
        'METER_RECORD_BAD_MAC',
        `record ${record.serial}: token key is not the one this box knows`,
      );
    }
    return key;
  }

  /** Steps 245–265 common to dispense and credit: stage the NVM entry, MAC the new record. */
  function issue(
    oldDigest: string,
    next: Omit<MeterRecord, 'mac' | 'macPeriod'>,
    key: Pick<TokenKey, 'spki'>,
    journal: JournalBody,
  ): MeterRecord {
    const period = periodOf(ctx.now());
    const { record, digest } = macRecordAndDigest(macKey(next.serial, period), next, period);
    issued.set(record.serial, { record: { ...record }, digest });
    const prior = ctx.nvm.get<MeterEntry>(entryKey(record.serial));
    const entry: MeterEntry = {
      ...prior,
      counter: record.counter,
      digest,
      publicKey: key.spki,
      certificateSerial: record.certificateSerial,
      journal: { ...journal, previousDigest: oldDigest, record },
    };
    ctx.nvm.stage(entryKey(record.serial), entry);
    return record;
  }

  const dispense = command({
    check(args: unknown) {
      const a = v.object(args, 'dispense');
      v.exactKeys(a, 'dispense', ['requestId', 'record', 'pieces', 'auth']);
      const requestId = v.text(a.requestId, 'requestId', 128);
      const record = v.meterRecord(a.record);
      const { pieces, payloads } = v.pieces(a.pieces, record);
      return { requestId, record, pieces, payloads, auth: mailerAuthShape(a.auth) };
    },
    work({
      requestId,
      record,
      pieces,
      payloads,
      auth,
    }: {
      requestId: string;
      record: MeterRecord;
      pieces: PieceRequest[];
      /** Each piece's payload as the check encoded it (registers 0). */
      payloads: Uint8Array[];
      auth: MailerAuth;
    }) {
      checkShard(record.serial);
      checkAuth(auth);
      const digest = verifyMac(record);
      const entry = checkFreshness(record, digest);
      checkOwner(record, auth);
      if (entry?.suspension)
        fail(
          'METER_SUSPENDED',
          `meter ${record.serial}: suspended since ${entry.suspension.at} (${entry.suspension.code}); an administrator must reinstate it`,
          { suspension: entry.suspension },
        );
      if (record.status !== 'active') fail('METER_SUSPENDED', `meter ${record.serial}: suspended`);
      witness.gate(pieces.length);
      const key = tokenKey(record, entry);
      // Step 240: accounting.
      const total = pieces.reduce((sum, p) => sum + p.postageCents, 0);
      if (total > record.descendingCents) {
        fail(
          'INSUFFICIENT_FUNDS',
          `meter ${record.serial}: ${total} cents asked, ${record.descendingCents} available`,
          {
            totalCents: total,
            descendingCents: record.descendingCents,
          },
        );
      }
      if (record.ascendingCents + total > Number.MAX_SAFE_INTEGER)
        fail('BAD_REQUEST', 'ascending register would overflow');
      // Step 255: one token (indicium) per piece, each with its own register values.
      let ascending = record.ascendingCents;
      let descending = record.descendingCents;
      const indicia: IssuedIndicium[] = pieces.map((p, i) => {
        ascending += p.postageCents;
        descending -= p.postageCents;
        const payload = withRegisters(payloads[i] as Uint8Array, ascending, descending);
        const signature = ecdsaSign(key.privateKey, payload);
        return {
          pieceId: p.pieceId,
          indicium: Buffer.from(assembleIndicium(payload, signature)).toString('base64'),
          ascendingCents: ascending,
          descendingCents: descending,
          postageCents: p.postageCents,
        };
      });
      const report = witness.report(record.serial, record.counter + 1, indicia);
      const next = issue(
        digest,
        nextRecord(record, {
          ascendingCents: ascending,
          descendingCents: descending,
          creditedCents: record.creditedCents,
        }),
        key,
        {
          kind: 'dispense',
          requestId,
          indicia,
          ...(report ? { report } : {}),
        },
      );
      return report ? { record: next, indicia, report } : { record: next, indicia };
    },
  });

  const credit = command({
    check(args: unknown) {
      const a = v.object(args, 'credit');
      v.exactKeys(a, 'credit', ['requestId', 'record', 'amountCents', 'credit', 'auth']);
      return {
        requestId: v.text(a.requestId, 'requestId', 128),
        record: v.meterRecord(a.record),
        amountCents: v.integer(a.amountCents, 'amountCents', 1, 1e12),
        credit: v.creditFor(a.credit),
        auth: mailerAuthShape(a.auth),
      };
    },
    work({
      requestId,
      record,
      amountCents,
      credit,
      auth,
    }: {
      requestId: string;
      record: MeterRecord;
      amountCents: number;
      credit: CreditFor;
      auth: MailerAuth;
    }) {
      checkShard(record.serial);
      checkAuth(auth);
      const digest = verifyMac(record);
      const entry = checkFreshness(record, digest);
      checkOwner(record, auth);
      const key = tokenKey(record, entry);
      if (record.creditedCents + amountCents > Number.MAX_SAFE_INTEGER)
        fail('BAD_REQUEST', 'credited total would overflow');
      const next = issue(
        digest,
        nextRecord(record, {
          ascendingCents: record.ascendingCents,
          descendingCents: record.descendingCents + amountCents,
          creditedCents: record.creditedCents + amountCents,
        }),
        key,
        { kind: 'credit', requestId, amountCents, credit },
      );
      return { record: next };
    },
  });

  const remac = command({
    check(args: unknown) {
      const a = v.object(args, 'remac');
      v.exactKeys(a, 'remac', ['record']);
      return v.meterRecord(a.record);
    },
    work(record: MeterRecord) {
      checkShard(record.serial);
      const digest = verifyMac(record, true);
      if (!isOwnRecord(record, digest)) {
        checkFreshness(record, digest); // FRESHNESS_MISMATCH / UNKNOWN_METER, with their responses
        fail('METER_RECORD_BAD_MAC', `record ${record.serial}: not this box's to re-MAC`);
      }
      const { mac: _mac, macPeriod: _period, ...body } = record;
      const entry = ctx.nvm.get<MeterEntry>(entryKey(record.serial));
      if (!entry) {
        // Never used: the first record gets a fresh MAC as it is; first use still accepts it.
        const period = periodOf(ctx.now());
        return { record: macRecordWithKey(macKey(record.serial, period), body, period) };
      }
      const next = issue(
        entry.digest,
        { ...body, counter: record.counter + 1 },
        { spki: entry.publicKey },
        { kind: 'remac', requestId: `remac:${record.serial}:${record.counter}` },
      );
      return { record: next };
    },
  });

  const serialArg = (args: unknown, what: string, extra: readonly string[] = []) => {
    const a = v.object(args, what);
    v.exactKeys(a, what, ['serial', ...extra]);
    return { a, serial: v.text(a.serial, 'serial', 12, v.SERIAL_PATTERN) };
  };

  const reinstate = command({
    check(args: unknown) {
      const { a, serial } = serialArg(args, 'reinstate', ['reason']);
      return { serial, reason: v.text(a.reason, 'reason', 500) };
    },
    work({ serial, reason }: { serial: string; reason: string }) {
      checkShard(serial);
      const entry = ctx.nvm.get<MeterEntry>(entryKey(serial));
      if (!entry) fail('UNKNOWN_METER', `meter ${serial}: this meter box does not know it`);
      const lifted = entry.suspension ?? null;
      if (lifted) {
        ctx.nvm.stage(entryKey(serial), {
          ...entry,
          suspension: null,
          reinstated: { at: ctx.now().toISOString(), reason, lifted },
        } satisfies MeterEntry);
      }
      return { lifted };
    },
  });

  const suspension = command({
    check: (args: unknown) => serialArg(args, 'suspension').serial,
    work: (serial: string) => ({
      suspension:
        (checkShard(serial), ctx.nvm).get<MeterEntry>(entryKey(serial))?.suspension ?? null,
    }),
  });

  const recover = command({
    check(args: unknown) {
      const a = v.object(args, 'recover');
      v.exactKeys(a, 'recover', ['serial']);
      return v.text(a.serial, 'serial', 12, v.SERIAL_PATTERN);
    },
    work(serial: string) {
      checkShard(serial);
      return journalEntryOf(ctx.nvm.get<MeterEntry>(entryKey(serial))?.journal);
    },
  });

  const verifyIndicium = command({
    check(args: unknown) {
      const a = v.object(args, 'verifyIndicium');
      v.exactKeys(a, 'verifyIndicium', ['indicium']);
      const bytes = v.base64(a.indicium, 'indicium', 1024);
      try {
        return decodeIndicium(bytes);
      } catch (error) {
        return v.bad(`indicium: ${error instanceof Error ? error.message : String(error)}`);
      }
    },
    work(decoded: ReturnType<typeof decodeIndicium>) {
      const serial = decoded.fields.deviceId;
      checkShard(serial);
      const entry = ctx.nvm.get<MeterEntry>(entryKey(serial));
      if (!entry) fail('UNKNOWN_METER', `meter ${serial}: this meter box does not know it`);
      const valid =
        entry.certificateSerial === decoded.fields.certificateSerial &&
        ecdsaVerify(
          publicKeyFromSpki(Buffer.from(entry.publicKey, 'base64')),
          decoded.payload,
          decoded.signature,
        );
      return { valid, serial };
    },
  });

  /** Pool growth, step 1 (control pipe only): seal the meter's entry for `to` and stop serving it. */
  const exportMeter = command({
    check(args: unknown) {
      const { a, serial } = serialArg(args, 'exportMeter', ['to']);
      const to = v.text(a.to, 'exportMeter.to', 16);
      const shard = shardIndexOf(to);
      if (shard === undefined || to === ctx.name)
        v.bad(`exportMeter: "${to}" is not another shard`);
      return { serial, to, shard };
    },
    work({ serial, to, shard }: { serial: string; to: string; shard: number }) {
      const entry = ctx.nvm.get<MeterEntry>(entryKey(serial));
      if (!entry || (entry.handedOver && entry.handedOver.to !== to))
        fail('UNKNOWN_METER', `meter ${serial}: this shard does not serve it`);
      if (!ctx.handoverKey || !ctx.name) fail('BAD_REQUEST', 'exportMeter: not a pooled shard');
      // Asked again after a crash: the same state again (the tombstone keeps it).
      const { handedOver: _was, ...state } = entry;
      const moves = entry.handedOver ? (entry.moves ?? 1) : (entry.moves ?? 0) + 1;
      const sealed = aesGcmSeal(
        ctx.handoverKey,
        Buffer.from(JSON.stringify({ ...state, moves }), 'utf8'),
        handoverAad(serial, ctx.name, to),
      );
      if (!entry.handedOver)
        ctx.nvm.stage(entryKey(serial), {
          ...entry,
          moves,
          handedOver: { to, shard, at: ctx.now().toISOString() },
        } satisfies MeterEntry);
      return {
        serial,
        from: ctx.name,
        to,
        counter: entry.counter,
        sealed: sealed.toString('base64'),
      };
    },
  });

  /** Pool growth, step 2 (control pipe only): take a meter another shard handed over. */
  const importMeter = command({
    check(args: unknown) {
      const { a, serial } = serialArg(args, 'importMeter', ['from', 'sealed']);
      const from = v.text(a.from, 'importMeter.from', 16);
      if (shardIndexOf(from) === undefined) v.bad(`importMeter: "${from}" is not a meter shard`);
      return { serial, from, sealed: v.base64(a.sealed, 'importMeter.sealed', 1_000_000) };
    },
    work({ serial, from, sealed }: { serial: string; from: string; sealed: Buffer }) {
      if (!ctx.handoverKey || !ctx.name) fail('BAD_REQUEST', 'importMeter: not a pooled shard');
      const plain = aesGcmOpen(ctx.handoverKey, sealed, handoverAad(serial, from, ctx.name));
      if (!plain)
        fail('BAD_REQUEST', `importMeter: the hand-over of ${serial} does not open for this shard`);
      const incoming = JSON.parse(plain.toString('utf8')) as MeterEntry;
      const held = ctx.nvm.get<MeterEntry>(entryKey(serial));
      if (held && !held.handedOver) {
        if (held.counter === incoming.counter && held.digest === incoming.digest)
          return { serial, counter: held.counter }; // imported before the crash
        fail('BAD_REQUEST', `importMeter: this shard already serves meter ${serial}`);
      }
      if (held && (held.moves ?? 0) >= (incoming.moves ?? 0))
        fail('BAD_REQUEST', `importMeter: the hand-over of ${serial} is older than this shard's`);
      ctx.nvm.stage(entryKey(serial), { ...incoming, handedOver: null } satisfies MeterEntry);
      return { serial, counter: incoming.counter };
    },
  });

  /** The meters this shard serves, and those it handed over (control pipe only: for the pool). */
  const listMeters = command({
    check: (args: unknown) => {
      v.exactKeys(v.object(args, 'listMeters'), 'listMeters', []);
    },
    work: () => {
      const serials: string[] = [];
      const handedOver: { serial: string; to: string }[] = [];
      for (const key of ctx.nvm.keysWithPrefix('m:')) {
        const gone = ctx.nvm.get<MeterEntry>(key)?.handedOver;
        if (gone) handedOver.push({ serial: key.slice(2), to: gone.to });
        else serials.push(key.slice(2));
      }
      return { serials, handedOver };
    },
  });

  return {
    commands: {
      exportMeter,
      importMeter,
      listMeters,
      ...poolCommands(ctx),
      dispense,
      credit,
      remac,
      reinstate,
      suspension,
      recover,
      verifyIndicium,
      ...witness.commands,
    },
    zeroize() {
      ctx.handoverKey?.fill(0);
      ctx.poolKey?.fill(0);
      witness.zeroize();
      keyCache.clear();
      macKeys.clear();
      issued.clear();
      wrapMaster.fill(0);
      recordMaster.fill(0);
    },
  };
}

export const meterBox: BoxType = {
  selfTests: ['sha256', 'hmac-sha256', 'aes-256-gcm', 'hkdf-sha256', 'ecdsa-p256', 'random'],
  create: createMeterBox,
};
