/**
 * @module boxes
 * The data center's secure boxes (patent parts 38–44): key ceremony (initBoxes) and the running
 * box processes (startBoxes). This is the folder's public surface; the contract is api.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { BoxError, type Boxes } from './api';
import { BoxProcess, type BoxProcessOptions } from './box-process';
import { BOX_NAMES, nodeChildEnv, type BoxName } from './box-types';

export * from './api';
export { initBoxes, VENDOR_CA_FILE, type InitOptions, type InitResult } from './ceremony';
export { BOX_NAMES, type BoxName } from './box-types';
export { recordDigest, periodOf, MAC_PERIOD_WINDOW } from './record-mac';
export { MAX_PIECES_PER_COMMAND } from './validate';
export { METER_SOFTWARE_ID } from './meter-box';

export interface StartOptions {
  /** Extra environment for every box (test switches), or per box. */
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
}

/** The running boxes, plus what operators and tests need to manage the processes. */
export interface BoxSet extends Boxes {
  /** OS process ids of the boxes now running. */
  pids(): Partial<Record<BoxName, number>>;
  /** Stops (or, after a kill, reaps) one box and starts it again; rejects like startBoxes. */
  restart(name: BoxName, opts?: { env?: Record<string, string | undefined> }): Promise<void>;
  /** The process handle of one box (tests: kill, raw frames). */
  process(name: BoxName): BoxProcess;
}

/**
 * The key ceremony in its own process (the manufacturing box), so the top-level secrets never
 * exist in the data center's or the CLI's memory. Same result and refusals as initBoxes.
 */
export async function runKeyCeremony(dataDir: string): Promise<void> {
  const script = fileURLToPath(new URL('./ceremony-main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), script, dataDir], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: nodeChildEnv(),
  });
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => (stderr += text));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0)
    throw new Error(`key ceremony: ${stderr.trim() || `exited with code ${String(code)}`}`);
}

/** Starts every box as its own process; rejects with the BoxError of the first box that fails. */
export async function startBoxes(dataDir: string, opts: StartOptions = {}): Promise<BoxSet> {
  if (!existsSync(join(dataDir, 'boxes'))) {
    throw new BoxError(
      'BOX_UNAVAILABLE',
      `boxes: ${join(dataDir, 'boxes')} does not exist: run initBoxes first`,
    );
  }
  const optionsFor = (
    name: BoxName,
    extra?: Record<string, string | undefined>,
  ): BoxProcessOptions => ({
    env: { ...opts.env, ...opts.boxEnv?.[name], ...extra },
    log: opts.log,
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  const procs = {} as Record<BoxName, BoxProcess>;
  for (const name of BOX_NAMES) procs[name] = new BoxProcess(name, dataDir, optionsFor(name));
  // Fail fast: the first box that refuses to start stops the others.
  try {
    await Promise.all(BOX_NAMES.map((name) => procs[name].start()));
  } catch (error) {
    for (const name of BOX_NAMES) procs[name].kill('SIGKILL');
    await Promise.all(BOX_NAMES.map((name) => procs[name].stop()));
    throw error;
  }
  let closing = false;
  const reviving: Partial<Record<BoxName, Promise<void>>> = {};
  const revive = async (name: BoxName): Promise<void> => {
    if (!opts.supervise || closing || procs[name].pid !== undefined) return;
    reviving[name] ??= (async () => {
      (opts.log ?? ((line: string) => process.stderr.write(`${line}\n`)))(
        `box ${name}: not running; restarting it`,
      );
      await procs[name].stop();
      procs[name] = new BoxProcess(name, dataDir, optionsFor(name));
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
  return {
    meter: {
      dispense: call('meter', 'dispense'),
      credit: call('meter', 'credit'),
      recover: call('meter', 'recover'),
      verifyIndicium: call('meter', 'verifyIndicium'),
    },
    steel: {
      createMeter: call('steel', 'createMeter'),
      vendorCa: () => call<object, { certificatePem: string }>('steel', 'vendorCa')({}),
    },
    auth: {
      enroll: call('auth', 'enroll'),
      authenticate: call('auth', 'authenticate'),
      checkGrant: call('auth', 'checkGrant'),
    },
    txn: {
      sign: call('txn', 'sign'),
      verify: call('txn', 'verify'),
    },
    pids: () =>
      Object.fromEntries(BOX_NAMES.flatMap((n) => (procs[n].pid ? [[n, procs[n].pid]] : []))),
    async restart(name, restartOpts) {
      await procs[name].stop();
      procs[name] = new BoxProcess(name, dataDir, optionsFor(name, restartOpts?.env));
      await procs[name].start();
    },
    process: (name) => procs[name],
    async close() {
      closing = true;
      await Promise.all(BOX_NAMES.map((name) => procs[name].stop()));
    },
  };
}
