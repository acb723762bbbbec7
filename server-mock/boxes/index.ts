/**
 * @module boxes
 * The data center's secure boxes (patent parts 38–44): key ceremony (initBoxes) and the running
 * box processes (startBoxes), unlocked by a quorum of custodian shares (custody.ts). This is the
 * folder's public surface; the contract is api.ts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchProcess } from '../../runtime/launch';
import { BoxError, type Boxes, type WitnessStatus } from './api';
import { BoxProcess, type BoxProcessOptions, type Unlocker } from './box-process';
import { BOX_NAMES, nodeChildEnv, type BoxName } from './box-types';
import { combineShares, CustodyError, DEFAULT_CUSTODIANS, DEFAULT_QUORUM } from './custody';
import { sealToBox, type SealedKey } from './key-transport';
import { channelKey } from './channel';
import { PoolClient } from './pool-client';

export * from './api';
export { initBoxes, VENDOR_CA_FILE, type InitOptions, type InitResult } from './ceremony';
export {
  CustodyError,
  DEFAULT_CUSTODIANS,
  DEFAULT_QUORUM,
  readCustody,
  shareCheckValue,
  type CustodyErrorCode,
  type CustodyInfo,
  type RejectedShare,
} from './custody';
export { BOX_NAMES, type BoxName } from './box-types';
export { recordDigest, periodOf, periodDistance, MAC_PERIOD_WINDOW } from './record-mac';
export { tokenHashOf } from './grant';
export { MAX_PIECES_PER_COMMAND } from './validate';
export { METER_SOFTWARE_ID } from './meter-box';
export { WITNESS_MAX_MS, WITNESS_MAX_PIECES } from './witness';
export { startPool, readPoolInfo, type PoolOptions, type RunningPool } from './pool';
export { shardOfSerial, shardName } from './box-types';

/** A custodian share: its text line, and where it came from (for the refusal message). */
export type ShareInput = string | { source: string; text: string };

/** Shares as custody takes them: each named (by its place, when given as bare text). */
export function shareInputs(shares: readonly ShareInput[]): { source: string; text: string }[] {
  return shares.map((share, i) =>
    typeof share === 'string' ? { source: `share ${i + 1}`, text: share } : share,
  );
}

export interface StartOptions {
  /**
   * A quorum of custodian shares. They are combined into the domain key, which is sealed to each
   * box as it starts and then zeroed here; a box restarted by supervision gets it from a running
   * sibling box. Fewer than the quorum, or shares of another data center: CustodyError.
   */
  shares?: readonly ShareInput[];
  /** The box entry script (tests only: their harness, which turns on test-only behaviours). */
  entry?: string;
  /** Extra environment for every box, or per box. */
  env?: Record<string, string | undefined>;
  boxEnv?: Partial<Record<BoxName, Record<string, string | undefined>>>;
  /** Where box stderr lines go; default: the parent's stderr. */
  log?: (line: string) => void;
  readyTimeoutMs?: number;
  /**
   * Restart a box that died (kill -9, crash) when it is next needed, instead of answering
   * BOX_UNAVAILABLE until an operator restarts it. The data center runs with this on; the
   * recovery path (FRESHNESS_MISMATCH → recover) then settles any command the crash cut off.
   */
  supervise?: boolean;
  /**
   * The socket directory of a box pool (pool.ts): the steel box and the meter shards are reached
   * there over the channel, and only the stateless authentication and transaction boxes run here.
   */
  pool?: string;
}

/** The running boxes, plus what operators and tests need to manage the processes. */
export interface BoxSet extends Boxes {
  /** OS process ids of the boxes now running here. */
  pids(): Partial<Record<BoxName, number>>;
  /** Each box 'up' or 'down' (a pooled box: whether the node is connected to it). */
  status(): Record<string, 'up' | 'down'>;
  /**
   * Stops (or, after a kill, reaps) one box and starts it again, unlocked by a running sibling;
   * rejects like startBoxes, or with BOX_UNAVAILABLE when no sibling runs.
   */
  restart(name: BoxName, opts?: { env?: Record<string, string | undefined> }): Promise<void>;
  /** The process handle of one box (tests: kill, raw frames). */
  process(name: BoxName): BoxProcess;
}

/** What the key ceremony hands back: the custodians' shares (never written under DIR). */
export interface CeremonyResult {
  dataCenterId: string;
  shares: string[];
  checkValues: string[];
}

/**
 * The key ceremony in its own process (the manufacturing box), so the top-level secrets never
 * exist in the data center's or the CLI's memory. Same refusals as initBoxes.
 */
export async function runKeyCeremony(
  dataDir: string,
  opts: { custodians?: number; quorum?: number } = {},
): Promise<CeremonyResult> {
  const quorumArgs =
    opts.custodians !== undefined || opts.quorum !== undefined
      ? [String(opts.custodians ?? DEFAULT_CUSTODIANS), String(opts.quorum ?? DEFAULT_QUORUM)]
      : [];
  const child = launchProcess('ceremony-main', [dataDir, ...quorumArgs], { env: nodeChildEnv() });
  child.end();
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr += text));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (text: string) => (stdout += text));
  const closed = (stream: NodeJS.ReadableStream) =>
    new Promise<void>((resolve) => stream.once('end', resolve));
  const [code] = await Promise.all([
    new Promise<number | null>((resolve) => child.onExit(resolve)),
    closed(child.stdout),
    closed(child.stderr),
  ]);
  if (code !== 0)
    throw new Error(`key ceremony: ${stderr.trim() || `exited with code ${String(code)}`}`);
  return JSON.parse(stdout) as CeremonyResult;
}

/** Starts every box as its own process; rejects with the BoxError of the first box that fails. */
export async function startBoxes(dataDir: string, opts: StartOptions = {}): Promise<BoxSet> {
  if (!existsSync(join(dataDir, 'boxes'))) {
    throw new BoxError(
      'BOX_UNAVAILABLE',
      `boxes: ${join(dataDir, 'boxes')} does not exist: run initBoxes first`,
    );
  }
  if (!opts.shares || opts.shares.length === 0)
    throw new CustodyError(
      'SHARES_INSUFFICIENT',
      'custody: no custodian shares given; the boxes start only with a quorum of shares (vpm datacenter start --share FILE …)',
      { valid: 0, rejected: [] },
    );
  const domainKey = await combineShares(dataDir, shareInputs(opts.shares));
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const local: readonly BoxName[] = opts.pool ? ['auth', 'txn'] : BOX_NAMES;
  let pool: PoolClient | undefined;
  if (opts.pool) {
    try {
      pool = new PoolClient(opts.pool, channelKey(domainKey));
    } catch (error) {
      domainKey.fill(0);
      throw error;
    }
  }
  const procs = {} as Record<BoxName, BoxProcess>;
  /** A restarted box gets the domain key from a running sibling, sealed to its own key. */
  const fromSibling =
    (name: BoxName): Unlocker =>
    async (hello) => {
      for (const other of local) {
        if (other === name || procs[other].pid === undefined) continue;
        try {
          return await procs[other].call<SealedKey>('rewrap', {
            publicKey: hello.unlockKey,
            box: name,
          });
        } catch {
          // that sibling is down or tampered: try the next
        }
      }
      throw new BoxError(
        'BOX_UNAVAILABLE',
        `box ${name}: no running box can pass it the domain key; restart the data center with a quorum of custodian shares`,
        name,
      );
    };
  const optionsFor = (
    name: BoxName,
    unlock: Unlocker,
    extra?: Record<string, string | undefined>,
  ): BoxProcessOptions => ({
    unlock,
    entry: opts.entry,
    env: { ...opts.env, ...opts.boxEnv?.[name], ...extra },
    log: opts.log,
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  const fromKey =
    (name: BoxName): Unlocker =>
    (hello) => {
      const sealed = sealToBox(hello.unlockKey, name, domainKey);
      if (!sealed) throw new BoxError('BAD_REQUEST', `box ${name}: announced no X25519 key`, name);
      return sealed;
    };
  for (const name of local)
    procs[name] = new BoxProcess(name, dataDir, optionsFor(name, fromKey(name)));
  // Fail fast: the first box that refuses to start stops the others.
  try {
    await Promise.all(local.map((name) => procs[name].start()));
  } catch (error) {
    for (const name of local) procs[name].kill('SIGKILL');
    await Promise.all(local.map((name) => procs[name].stop()));
    pool?.close();
    throw error;
  } finally {
    domainKey.fill(0); // from here on, the key lives only in the boxes' memory
  }
  let closing = false;
  const reviving: Partial<Record<BoxName, Promise<void>>> = {};
  const revive = async (name: BoxName): Promise<void> => {
    if (!opts.supervise || closing || procs[name].pid !== undefined) return;
    reviving[name] ??= (async () => {
      log(`box ${name}: not running; restarting it`);
      await procs[name].stop();
      procs[name] = new BoxProcess(name, dataDir, optionsFor(name, fromSibling(name)));
      await procs[name].start();
    })().finally(() => {
      delete reviving[name];
    });
    await reviving[name];
  };
  const call =
    <A, R>(name: BoxName, cmd: string) =>
    async (args: A): Promise<R> => {
      await revive(name);
      return procs[name].call<R>(cmd, args);
    };
  const meter: Boxes['meter'] = pool?.meter() ?? {
    dispense: call('meter', 'dispense'),
    credit: call('meter', 'credit'),
    remac: call('meter', 'remac'),
    reinstate: call('meter', 'reinstate'),
    suspension: call('meter', 'suspension'),
    recover: call('meter', 'recover'),
    verifyIndicium: call('meter', 'verifyIndicium'),
    witnessChallenge: call('meter', 'witnessChallenge'),
    witnessReceipt: call('meter', 'witnessReceipt'),
    witnessStatus: () => call<object, WitnessStatus>('meter', 'witnessStatus')({}),
  };
  const steel: Boxes['steel'] = pool
    ? {
        createMeter: (args) => pool.steel.call('createMeter', args),
        vendorCa: () => pool.steel.call('vendorCa', {}),
      }
    : {
        createMeter: call('steel', 'createMeter'),
        vendorCa: () => call<object, { certificatePem: string }>('steel', 'vendorCa')({}),
      };
  return {
    meter,
    steel,
    auth: {
      enroll: call('auth', 'enroll'),
      authenticate: call('auth', 'authenticate'),
      checkGrant: call('auth', 'checkGrant'),
    },
    txn: {
      sign: call('txn', 'sign'),
      verify: call('txn', 'verify'),
      certificate: call('txn', 'certificate'),
    },
    pids: () => Object.fromEntries(local.flatMap((n) => (procs[n].pid ? [[n, procs[n].pid]] : []))),
    status: () => ({
      ...Object.fromEntries(local.map((n) => [n, procs[n].pid ? 'up' : 'down'])),
      ...pool?.status(),
    }),
    async restart(name, restartOpts) {
      if (!procs[name]) throw new BoxError('BAD_REQUEST', `box ${name}: runs in the box pool`);
      await procs[name].stop();
      procs[name] = new BoxProcess(
        name,
        dataDir,
        optionsFor(name, fromSibling(name), restartOpts?.env),
      );
      await procs[name].start();
    },
    process: (name) => procs[name],
    async close() {
      closing = true;
      pool?.close();
      await Promise.all(local.map((name) => procs[name].stop()));
    },
  };
}
