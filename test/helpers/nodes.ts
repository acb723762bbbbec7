/**
 * Test helper: a data center run as a box pool and several API nodes, each its own real process
 * (`vpm datacenter boxes start` and `vpm datacenter start --boxes`), on one data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { VPM_ARGS, initDataCenterDir } from './cli';

export interface NodeProcess {
  url: string;
  child: ChildProcess;
  output(): string;
}

export interface TestCluster {
  dir: string;
  socketDir: string;
  caPath: string;
  pool: ChildProcess;
  nodes: NodeProcess[];
  /** The pid of a box process of the pool, by name ("meter", "meter-1", "steel"). */
  boxPid(name: string): number | undefined;
  /** Starts one more node (e.g. to replace a killed one). */
  addNode(): Promise<NodeProcess>;
  close(): Promise<void>;
}

/** Waits until the child prints a line matching `pattern`; rejects if it exits first. */
function waitFor(child: ChildProcess, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  return new Promise((done, fail) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      const m = pattern.exec(text);
      if (m) {
        child.stdout?.off('data', onData);
        done(m);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
    child.once('exit', (code) => fail(new Error(`${what} exited early (${code}): ${text}`)));
  });
}

/** Inits a data center, starts its box pool with `shards` meter shards and `nodes` API nodes. */
export async function startCluster(options: {
  shards: number;
  nodes: number;
  /** `--database postgres://…` for init and every node (several nodes' shared database). */
  database?: string;
}): Promise<TestCluster> {
  const database = options.database ? ['--database', options.database] : [];
  // Initialised in this process; the pool and nodes are processes of their own.
  const { dir, shareDir } = await initDataCenterDir('vpm-nodes-', database);
  const socketDir = join(dir, 'pool');
  const shareArgs = [
    '--share',
    join(shareDir, 'custodian-1.share'),
    '--share',
    join(shareDir, 'custodian-2.share'),
  ];
  const run = (args: string[]) =>
    spawn(process.execPath, [...VPM_ARGS, ...args, ...shareArgs], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const pool = run([
    'datacenter',
    'boxes',
    'start',
    '--data',
    dir,
    '--boxes',
    socketDir,
    '--shards',
    String(options.shards),
  ]);
  await waitFor(pool, /Box pool serving/, 'box pool');
  const addNode = async (): Promise<NodeProcess> => {
    const child = run([
      'datacenter',
      'start',
      '--data',
      dir,
      '--boxes',
      socketDir,
      '--port',
      '0',
      ...database,
    ]);
    let log = '';
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const m = await waitFor(child, /listening at (https:\/\/\S+)/, 'API node');
    return { url: m[1] as string, child, output: () => log };
  };
  const nodes: NodeProcess[] = [];
  for (let i = 0; i < options.nodes; i++) nodes.push(await addNode());
  const stop = (child: ChildProcess) =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done();
      child.once('exit', () => done());
      child.kill('SIGTERM');
    });
  return {
    dir,
    socketDir,
    caPath: join(dir, 'tls', 'ca.pem'),
    pool,
    nodes,
    boxPid(name) {
      const lines = execFileSync('ps', ['-o', 'pid=,args=', '--ppid', String(pool.pid)], {
        encoding: 'utf8',
      }).split('\n');
      const line = lines.find((l) => l.includes(` ${name} ${dir}`));
      return line ? Number.parseInt(line.trim(), 10) : undefined;
    },
    async addNode() {
      const node = await addNode();
      nodes.push(node);
      return node;
    },
    async close() {
      await Promise.all(nodes.map((n) => stop(n.child)));
      await stop(pool);
      await rm(shareDir, { recursive: true, force: true });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
