/**
 * @module bench/postgres-server
 * A real PostgreSQL 15 server for a test file, a fault campaign or the bench: a fresh cluster
 * (initdb -A trust) in a temp dir, on a free port, started with pg_ctl and stopped (its files
 * removed) after. As root (CI) the server runs as the `postgres` user (runuser), as PostgreSQL
 * refuses root; otherwise as the current user. Each caller gets databases of its own
 * (createDatabase). Missing PostgreSQL fails with the command that installs it.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export const PG_BIN = process.env.VPM_PG_BIN ?? '/usr/lib/postgresql/15/bin';

export interface PostgresServer {
  port: number;
  /** The superuser's URL of a database on this server. */
  url(database?: string): string;
  /** A new empty database; answers its URL. */
  createDatabase(): Promise<string>;
  /** pg_ctl restart (fast shutdown, then start again). */
  restart(): Promise<void>;
  /** The postmaster's process id (its backends are its children). */
  pid(): number;
  /** kill -9 of the postmaster and its backends (a crash), without starting it again. */
  kill(): Promise<void>;
  /** Starts a stopped or killed server again (crash recovery runs). */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** The command prefix that runs a PostgreSQL program as the cluster's owner. */
function asOwner(): { prefix: string[]; uid?: number; gid?: number; user: string } {
  if (process.getuid?.() !== 0) return { prefix: [], user: userInfo().username };
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0)
    throw new Error(
      'postgres: no "postgres" user to run the server as root; install PostgreSQL: apt-get install postgresql',
    );
  return {
    prefix: ['runuser', '-u', 'postgres', '--'],
    uid: Number(id.stdout.trim()),
    gid: Number(gid.stdout.trim()),
    user: 'postgres',
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function childrenOf(pid: number): number[] {
  const ps = spawnSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' });
  return ps.stdout
    .split('\n')
    .map((line) => Number(line.trim()))
    .filter((n) => n > 0);
}

/** Alive and not a zombie. */
function running(pid: number): boolean {
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Starts a fresh PostgreSQL server. `durable: false` turns fsync off (tests that crash no machine). */
export async function startPostgres(options: { durable?: boolean } = {}): Promise<PostgresServer> {
  if (!existsSync(join(PG_BIN, 'initdb')) || !existsSync(join(PG_BIN, 'pg_ctl')))
    throw new Error(
      `postgres: PostgreSQL 15 is not installed (no ${PG_BIN}/initdb); install it: apt-get install postgresql`,
    );
  const owner = asOwner();
  const dir = mkdtempSync(join(tmpdir(), 'vpm-pg-'));
  if (owner.uid !== undefined) chownSync(dir, owner.uid, owner.gid ?? owner.uid);
  const data = join(dir, 'data');
  const exec = (program: string, args: string[]) => {
    const [command, ...rest] = [...owner.prefix, join(PG_BIN, program), ...args];
    return run(command as string, rest, { cwd: dir, timeout: 60_000 });
  };
  await exec('initdb', [
    '-A',
    'trust',
    '-U',
    owner.user,
    '--no-sync',
    '-E',
    'UTF8',
    '--locale=C',
    '-D',
    data,
  ]);
  let port = 0;
  const settings = () =>
    [
      `-p ${port}`,
      `-k ${dir}`,
      '-c listen_addresses=127.0.0.1',

      ...(options.durable === false ? ['-c fsync=off', '-c full_page_writes=off'] : []),
    ].join(' ');
  const start = async () => {
    try {
      await exec('pg_ctl', [
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-w',
        '-t',
        '60',
        '-o',
        settings(),
        'start',
      ]);
    } catch (error) {
      const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
      throw new Error(`postgres: pg_ctl start failed: ${String(error)}\n${log.slice(-2000)}`);
    }
  };
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await start();
      break;
    } catch (error) {
      if (attempt >= 2) {
        const log = existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : '';
        rmSync(dir, { recursive: true, force: true });
        throw new Error(`postgres: the test server did not start: ${String(error)}\n${log}`);
      }
    }
  }
  const postmasterPid = () =>
    Number(readFileSync(join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let counter = 0;
  const url = (database = 'postgres') =>
    `postgres://${encodeURIComponent(owner.user)}@127.0.0.1:${port}/${database}`;
  let stopped = false;
  return {
    port,
    url,
    async createDatabase() {
      const name = `vpm_${process.pid}_${++counter}`;
      const client = new pg.Client({ connectionString: url() });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async restart() {
      // Stop, then start with -l (a restarted postmaster may keep this process's pipes open).
      await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
      await start();
    },
    pid: postmasterPid,
    async kill() {
      const pid = postmasterPid();
      const pids = [pid, ...childrenOf(pid)];
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      // Gone (or a zombie nobody reaped yet) before a start may take the data directory again.
      const until = Date.now() + 15_000;
      while (pids.some(running) && Date.now() < until) await sleep(50);
      // A killed postmaster that no one has reaped yet still answers kill(pid, 0), and the next
      // postmaster would take its lock file for a live server's: it is stale, so it goes.
      if (!running(pid)) {
        rmSync(join(data, 'postmaster.pid'), { force: true });
        for (const name of readdirSync(dir))
          if (name.startsWith('.s.PGSQL.')) rmSync(join(dir, name), { force: true });
      }
    },
    async start() {
      // A killed postmaster leaves its pid file; pg_ctl start sees the process gone and recovers.
      await start();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await exec('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
