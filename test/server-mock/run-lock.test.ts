// The run locks of a data directory: one box set per directory, and one node per SQLite
// database (several nodes need PostgreSQL). A lock whose process is gone is taken over.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { acquireRunLock, acquireSqliteNodeLock } from '../../server-mock/run-lock';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'vpm-lock-'));
  dirs.push(dir);
  return dir;
};
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('run locks', () => {
  it('refuses a second SQLite node on one data directory, naming PostgreSQL, until the first stops', () => {
    const dir = freshDir();
    const release = acquireSqliteNodeLock(dir);
    expect(() => acquireSqliteNodeLock(dir)).toThrow(
      new RegExp(`process ${process.pid}.*several nodes need PostgreSQL.*--database`),
    );
    // The box set's lock is another lock: the pool holds it while its nodes run.
    const releaseBoxes = acquireRunLock(dir, 'box pool start');
    expect(() => acquireRunLock(dir, 'data center start')).toThrow(/is running .* stop it first/);
    release();
    releaseBoxes();
    acquireSqliteNodeLock(dir)();
  });

  it('takes over a node lock whose process is gone', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'datacenter-node.lock'), `2147483646 ${hostname()}\n`);
    const release = acquireSqliteNodeLock(dir);
    expect(() => acquireSqliteNodeLock(dir)).toThrow(/several nodes need PostgreSQL/);
    release();
  });
});
