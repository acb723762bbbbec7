/**
 * The commands `vpm start` prints for the running demo: a shell in the folder it ran from runs
 * exactly that line (vpmCommand), whatever the package's folder is called.
 */
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { vpmCommand } from '../../client/cli/demo-command';

const run = promisify(execFile);
let dir: string;

/** A package folder whose bin/vpm.mjs prints its arguments. */
async function pkg(name: string): Promise<string> {
  const root = join(dir, name);
  await mkdir(join(root, 'bin'), { recursive: true });
  await writeFile(
    join(root, 'bin', 'vpm.mjs'),
    'process.stdout.write(`ran ${process.argv.slice(2).join(" ")}`);',
  );
  return root;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vpm-demo-command-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the demo’s printed vpm command', () => {
  it('is node bin/vpm.mjs relative below the folder it ran from, absolute elsewhere', async () => {
    const root = await pkg('plain');
    expect(vpmCommand(root, root)).toBe('node bin/vpm.mjs');
    expect(vpmCommand(root, join(root, 'bin'))).toBe('node vpm.mjs');
    expect(vpmCommand(root, join(dir, 'elsewhere'))).toBe(`node ${join(root, 'bin', 'vpm.mjs')}`);
    expect(vpmCommand(root, dir)).toBe('node plain/bin/vpm.mjs');
  });

  it('runs as printed from a folder whose name has spaces, quotes and a dollar sign', async () => {
    const root = await pkg(`Ann's "mail" $HOME`);
    await mkdir(join(dir, 'elsewhere'), { recursive: true });
    for (const cwd of [root, join(root, 'bin'), dir, join(dir, 'elsewhere')]) {
      const line = `${vpmCommand(root, cwd)} balance --json`;
      const { stdout } = await run('sh', ['-c', line], { cwd });
      expect(stdout).toBe('ran balance --json');
    }
  });

  it('is vpm where the package has no bin/vpm.mjs (a deb or rpm puts vpm on the PATH)', async () => {
    const root = join(dir, 'packaged');
    await mkdir(root);
    expect(vpmCommand(root, root)).toBe('vpm');
  });
});
