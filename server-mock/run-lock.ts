/**
 * @module run-lock
 * One process at a time runs a data directory's boxes: two sets of box processes on the same NVM
 * would each see the other's writes as tampering. `DIR/datacenter.lock` holds the owner's pid;
 * a lock whose process is gone (or that a copy of the directory brought from another host) is
 * stale and taken over.
 */
import { openSync, readFileSync, rmSync, writeSync, closeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';

const LOCK_FILE = 'datacenter.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Takes the data directory's run lock; throws (saying who holds it) when another process does. */
export function acquireRunLock(dataDir: string, what: string): () => void {
  return takeLock(
    join(dataDir, LOCK_FILE),
    (pid) => `${what}: the data center in ${dataDir} is running (process ${pid}); stop it first`,
  );
}

/**
 * One node at a time on a SQLite database. Its meter lock holds only inside one process, so two
 * nodes could both read a meter's record while a dispense is under way; a record that is two
 * steps behind would reach the meter box as a stale record, which it must treat as fraud. Several
 * nodes need PostgreSQL, whose advisory lock serializes a meter across nodes.
 */
export function acquireSqliteNodeLock(dataDir: string): () => void {
  return takeLock(
    join(dataDir, NODE_LOCK_FILE),
    (pid) =>
      `data center start: a node already serves ${dataDir}'s SQLite database (process ${pid}); several nodes need PostgreSQL: vpm datacenter init --database postgres://… and start every node with the same --database`,
  );
}

const NODE_LOCK_FILE = 'datacenter-node.lock';

function takeLock(path: string, busy: (pid: number) => string): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid} ${hostname()}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        rmSync(path, { force: true });
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const [pidText = '', host] = readFileSync(path, 'utf8').trim().split(' ');
      const pid = Number.parseInt(pidText, 10);
      if (host === hostname() && Number.isSafeInteger(pid) && pid > 0 && alive(pid))
        throw new Error(busy(pid));
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`cannot take the lock ${path}; remove it if no data center runs`);
}
