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
  const path = join(dataDir, LOCK_FILE);
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
        throw new Error(
          `${what}: the data center in ${dataDir} is running (process ${pid}); stop it first`,
        );
      rmSync(path, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`${what}: cannot take the lock ${path}`);
}
