/**
 * @module bench/harness
 * What the fault campaigns and the crash tests drive: the data center as its own OS process
 * (`vpm datacenter start`, so it can be killed with SIGKILL like a real server), mailers on it,
 * and a dispensing load that remembers every indicium a client received and every request that
 * got no answer (to retry with the same idempotency key after the restart).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { launchProcess } from '../runtime/launch';
import type * as Api from '../shared/api/schemas';
import type { BenchClient, MailerApi } from './mailer-client';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TEST_CARD = '4242424242424242';
export const PASSWORD = 'correct horse battery';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A data center running as a child process. */
export interface DataCenterProcess {
  url: string;
  pid: number;
  /** SIGKILL the data center, then wait until its box processes are gone too. */
  crash(): Promise<void>;
  stop(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .map((s) => Number(s.trim()))
      .filter((n) => n > 0);
  } catch {
    return [];
  }
}

async function waitGone(pids: number[], timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (pids.some(alive)) {
    if (Date.now() > until) {
      for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
      await sleep(100);
      return;
    }
    await sleep(50);
  }
}

/**
 * Starts `vpm datacenter start --data DIR --port 0 --shares-stdin` with the custodian shares on its
 * stdin, and waits for its URL.
 */
export async function spawnDataCenter(
  dir: string,
  options: {
    shares: readonly string[];
    execArgv?: string[];
    /** A box pool's socket directory: start an API node of that pool (`--boxes`). */
    boxes?: string;
    /** `--database postgres://…` (the data center was initialised with it). */
    database?: string;
  },
): Promise<DataCenterProcess> {
  return spawnCli(
    [
      'datacenter',
      'start',
      '--data',
      dir,
      '--port',
      '0',
      '--auth-rate-limit',
      '100000',
      '--shares-stdin',
      ...(options.boxes ? ['--boxes', options.boxes] : []),
      ...(options.database ? ['--database', options.database] : []),
    ],
    /listening at (https:\/\/\S+)/,
    options,
  );
}

/** Starts `vpm datacenter boxes start` (a box pool of `shards` meter shards) and waits for it. */
export async function spawnBoxPool(
  dir: string,
  options: { shares: readonly string[]; socketDir: string; shards: number; execArgv?: string[] },
): Promise<DataCenterProcess> {
  return spawnCli(
    [
      'datacenter',
      'boxes',
      'start',
      '--data',
      dir,
      '--boxes',
      options.socketDir,
      '--shards',
      String(options.shards),
      '--shares-stdin',
    ],
    /Box pool serving at (\S+):/,
    options,
  );
}

/** The pid of one box process of a pool (or a data center): "meter", "meter-1", "steel", … */
export function boxPid(parentPid: number, name: string): number | undefined {
  try {
    const line = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(parentPid)], {
      encoding: 'utf8',
    })
      .split('\n')
      .find((l) => /box-main/.test(l) && l.includes(` ${name} `));
    return line ? Number.parseInt(line.trim(), 10) : undefined;
  } catch {
    return undefined;
  }
}

async function spawnCli(
  args: string[],
  ready: RegExp,
  options: { shares: readonly string[]; execArgv?: string[] },
): Promise<DataCenterProcess> {
  const child = launchProcess('cli', args, { execArgv: options.execArgv ?? [] });
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((done) =>
    child.onExit((code) => {
      exitCode = code;
      done();
    }),
  );
  child.write(Buffer.from(options.shares.map((share) => `${share}\n`).join('')));
  child.end();
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (text: string) => {
    stderr = (stderr + text).slice(-4000);
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(
      () => reject(new Error(`${args.join(' ')}: not ready after 60 s\n${stderr}`)),
      60_000,
    );
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      out += text;
      const match = ready.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(
        new Error(`${args.join(' ')}: exited with ${String(exitCode)} before ready\n${stderr}`),
      );
    });
  });
  const pid = child.pid as number;
  return {
    url,
    pid,
    async crash() {
      const boxes = childrenOf(pid);
      child.kill('SIGKILL');
      await exited;
      await waitGone(boxes); // boxes exit when their stdin closes
    },
    async stop() {
      const boxes = childrenOf(pid);
      child.kill('SIGTERM');
      await exited;
      await waitGone(boxes);
    },
  };
}

export interface Mailer {
  username: string;
  client: MailerApi;
  serial: string;
  /** The client parts its API client came from (handed in: bench/mailer-client.ts). */
  via: BenchClient;
}

/**
 * Connections each mailer's client keeps in the benchmark's measured loads, which keep 2 requests
 * in flight a mailer. Past them an open loop's requests wait in the client, as they would in an
 * office's: with the client's 16, a pause made the one process that speaks for every mailer open
 * TLS connections by the hundred, and its own stall became the latency measured
 * (docs/performance.md, fifth step).
 */
export const LOAD_CONNECTIONS = 2;

/**
 * Signs up, signs in and funds `count` mailers (`url`: one, or several nodes' comma-separated);
 * `connections`: each client's (the client's own default when not given).
 */
export async function makeMailers(
  via: BenchClient,
  url: string,
  caPem: string,
  count: number,
  fundCents: number,
  prefix = `m${Date.now().toString(36)}`,
  connections?: number,
): Promise<Mailer[]> {
  const out: Mailer[] = [];
  for (let i = 0; i < count; i++) {
    const username = `${prefix}-${i}`;
    const client = via.connect({
      serverUrl: url,
      caPem,
      retries: 0,
      ...(connections === undefined ? {} : { connections }),
    });
    await client.signUp({ username, password: PASSWORD, name: `Load ${i}`, originZip: '94103' });
    await client.signIn({ username, password: PASSWORD });
    const account = await client.refill({
      amountCents: fundCents,
      cardNumber: TEST_CARD,
      idempotencyKey: `fund-${username}`,
    });
    out.push({ username, client, serial: account.meterSerial, via });
  }
  return out;
}

/** The same mailers' sessions on a new URL (after a restart). */
export function reconnect(mailers: Mailer[], url: string, caPem: string): Mailer[] {
  return mailers.map((m) => ({
    ...m,
    client: m.via.connect({ serverUrl: url, caPem, token: m.client.token, retries: 0 }),
  }));
}

export async function closeMailers(mailers: Mailer[]): Promise<void> {
  await Promise.all(mailers.map((m) => m.client.close()));
}

export const spec = (postageCents: number, key = `k-${randomUUID()}`): Api.PieceSpec => ({
  idempotencyKey: key,
  postageCents,
  mailClass: 'first-class',
  destinationZip: '10001',
});

/** What a load run saw. */
export interface LoadOutcome {
  /** Indicia (base64) the clients received. */
  received: string[];
  /** Requests that got no answer or an error that may be transient: retry with the same key. */
  unanswered: { mailer: Mailer; piece: Api.PieceSpec }[];
  /** Error codes counted. */
  errors: Record<string, number>;
  /** Errors per mailer (user name). */
  errorsBy: Map<string, number>;
  ok: number;
}

/**
 * Keeps `concurrency` dispenses in flight per mailer until `stop` resolves. A request that fails
 * is remembered for a retry with its key; refusals that are final (4xx other than 409/503) are
 * counted only.
 */
export async function runLoad(
  mailers: Mailer[],
  concurrency: number,
  stop: Promise<void>,
): Promise<LoadOutcome> {
  const outcome: LoadOutcome = {
    received: [],
    unanswered: [],
    errors: {},
    errorsBy: new Map(),
    ok: 0,
  };
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  const worker = async (mailer: Mailer) => {
    while (!stopped) {
      const piece = spec(1 + Math.floor(Math.random() * 90));
      try {
        const answer = await mailer.client.dispense({ pieces: [piece] });
        outcome.ok++;
        for (const p of answer.pieces) outcome.received.push(p.indicium);
      } catch (error) {
        const code = mailer.via.errorCode(error) ?? 'THROWN';
        outcome.errors[code] = (outcome.errors[code] ?? 0) + 1;
        outcome.errorsBy.set(mailer.username, (outcome.errorsBy.get(mailer.username) ?? 0) + 1);
        outcome.unanswered.push({ mailer, piece });
        await sleep(50);
      }
    }
  };
  await Promise.all(mailers.flatMap((m) => Array.from({ length: concurrency }, () => worker(m))));
  return outcome;
}

/** Retries every unanswered request with its key until it is answered (or refused for good). */
export async function settle(
  outcome: LoadOutcome,
  mailers: Mailer[],
  attempts = 20,
): Promise<{ replayed: number; fresh: number; refused: Record<string, number> }> {
  const byName = new Map(mailers.map((m) => [m.username, m]));
  const result = { replayed: 0, fresh: 0, refused: {} as Record<string, number> };
  for (const { mailer, piece } of outcome.unanswered) {
    const client = (byName.get(mailer.username) ?? mailer).client;
    for (let attempt = 1; ; attempt++) {
      try {
        const answer = await client.dispense({ pieces: [piece] });
        const issued = answer.pieces[0] as Api.IssuedPiece;
        outcome.received.push(issued.indicium);
        if (issued.replayed) result.replayed++;
        else result.fresh++;
        break;
      } catch (error) {
        const code = mailer.via.errorCode(error) ?? 'THROWN';
        const transient = code === 'SERVICE_UNAVAILABLE' || code === 'UNREACHABLE';
        if (!transient || attempt >= attempts) {
          result.refused[code] = (result.refused[code] ?? 0) + 1;
          break;
        }
        await sleep(100 * attempt);
      }
    }
  }
  outcome.unanswered = [];
  return result;
}

export async function readCa(dir: string): Promise<string> {
  return readFile(`${dir}/tls/ca.pem`, 'utf8');
}

export { sleep };
