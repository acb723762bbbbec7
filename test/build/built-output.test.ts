/**
 * The built product, run the way an installed copy runs: `npm run build` into a fresh folder,
 * beside a node_modules that lacks tsx (and esbuild), with a loader hook in every process that
 * fails any import of tsx or of a TypeScript file. `vpm demo` prints a SAMPLE piece the verifier
 * accepts; a data center started from the built files takes a batch of 20; the desktop app's
 * entries (dist/app/) start with nothing but the native modules beside them.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DESKTOP_APP_ENTRIES, ENTRIES } from '../../runtime/launch';

const ROOT = join(import.meta.dirname, '../..');
const run = promisify(execFile);
/** Packages the build and the tests use, which an installed product does not have. */
const BUILD_ONLY = new Set(['tsx', 'esbuild', '@esbuild', '.bin']);
/** What the desktop app's entries may need beside them (forge.config.ts packs these). */
const NATIVE = ['better-sqlite3', 'bindings', 'file-uri-to-path'];

const HOOK = `import { register } from 'node:module';
register('data:text/javascript,' + encodeURIComponent(\`
export async function resolve(specifier, context, next) {
  if (specifier === 'tsx' || specifier.startsWith('tsx/')) throw new Error('the built product imported ' + specifier);
  const result = await next(specifier, context);
  if (/\\\\.[cm]?tsx?$/.test(new URL(result.url).pathname)) throw new Error('the built product imported ' + result.url);
  return result;
}\`));
`;

let work: string;
let app: string;
let env: NodeJS.ProcessEnv;
const children: ChildProcess[] = [];

/** A node_modules of symlinks to the installed packages, but for the excluded ones. */
async function nodeModules(dir: string, only?: readonly string[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const name of await readdir(join(ROOT, 'node_modules'))) {
    if (BUILD_ONLY.has(name) || (only && !only.includes(name))) continue;
    await symlink(join(ROOT, 'node_modules', name), join(dir, name));
  }
}

function vpm(args: string[], options: { input?: string; cwd?: string } = {}) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [join(app, 'bin', 'vpm.mjs'), ...args], {
      cwd: options.cwd ?? work,
      env,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'vpm-built-'));
  app = join(work, 'app');
  await run(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--outdir', join(app, 'dist')]);
  await mkdir(join(app, 'bin'));
  await copyFile(join(ROOT, 'bin', 'vpm.mjs'), join(app, 'bin', 'vpm.mjs'));
  await writeFile(join(app, 'package.json'), JSON.stringify({ type: 'module' }));
  await nodeModules(join(app, 'node_modules'));
  await writeFile(join(work, 'no-tsx.mjs'), HOOK);
  env = {
    ...process.env,
    NODE_OPTIONS: `--import=${join(work, 'no-tsx.mjs')}`,
    VPM_HOME: join(work, 'home'),
    VPM_KEYCHAIN: 'none',
  };
  delete env.NODE_PATH;
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGTERM');
  await rm(work, { recursive: true, force: true });
});

describe('the built product, without tsx', { timeout: 240_000 }, () => {
  it('builds every entry the product starts', async () => {
    const built = await readdir(join(app, 'dist'));
    for (const entry of Object.keys(ENTRIES)) expect(built).toContain(`${entry}.mjs`);
    const desktop = await readdir(join(app, 'dist', 'app'));
    for (const entry of DESKTOP_APP_ENTRIES) expect(desktop).toContain(`${entry}.mjs`);
    // The hook really refuses: a source file cannot be loaded in this environment.
    const refused = await run(
      process.execPath,
      ['-e', `import(${JSON.stringify(join(ROOT, 'client/cli/main.ts'))})`],
      { env },
    ).catch((error: { stderr: string }) => error);
    expect(String((refused as { stderr: string }).stderr)).toMatch(/imported .*main\.ts/);
  });

  it('vpm demo prints a SAMPLE piece the verifier accepts', async () => {
    const demo = await vpm(['demo', '--out', 'sample.pdf']);
    expect(demo.stderr).not.toMatch(/imported/);
    expect(demo.code, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/SAMPLE piece \S+ \(\$0\.78, not valid postage\) written to/);
    expect(demo.stdout).toMatch(/Verifier: demo sample: SAMPLE — NOT VALID POSTAGE/);
  });

  it('a data center started from the built files takes a batch of 20', async () => {
    const dir = join(work, 'dc');
    const shares = join(work, 'shares');
    const init = await vpm(['datacenter', 'init', '--data', dir, '--share-out', shares]);
    expect(init.code, init.stderr).toBe(0);
    const child = spawn(
      process.execPath,
      [
        join(app, 'bin', 'vpm.mjs'),
        ...['datacenter', 'start', '--data', dir, '--port', '0'],
        ...[
          '--share',
          join(shares, 'custodian-1.share'),
          '--share',
          join(shares, 'custodian-2.share'),
        ],
      ],
      { env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d) => {
        out += d;
        const m = /listening at (https:\/\/\S+)/.exec(out);
        if (m) resolve(m[1] as string);
      });
      child.on('exit', (code) => reject(new Error(`data center exited (${code}): ${stderr}`)));
    });
    env = { ...env, VPM_SERVER: url, VPM_CA: join(dir, 'tls', 'ca.pem') };
    const password = { input: 'a long built password\n' };
    const up = await vpm(
      ['signup', '--user', 'built1', '--zip', '10001', '--name', 'Built One', '--password-stdin'],
      password,
    );
    expect(up.code, up.stderr).toBe(0);
    expect((await vpm(['login', '--user', 'built1', '--password-stdin'], password)).code).toBe(0);
    const refill = await vpm(['refill', '50.00', '--card-stdin'], { input: '4242424242424242\n' });
    expect(refill.code, refill.stderr).toBe(0);
    const rows = Array.from(
      { length: 20 },
      (_, i) =>
        `Person ${i},${i + 1} Elm St,Denver,CO,802${String((i % 9) + 1).padStart(2, '0')},0.78,first-class`,
    );
    const csv = join(work, 'batch.csv');
    await writeFile(csv, ['name,street,city,state,zip,postage,class', ...rows].join('\n'));
    const batch = await vpm(['batch', csv, '--out', join(work, 'batch.pdf')]);
    expect(batch.code, batch.stderr).toBe(0);
    const balance = await vpm(['balance', '--json']);
    expect(JSON.parse(balance.stdout)).toMatchObject({ balanceCents: 5000 - 20 * 78 });
    const pdf = await readFile(join(work, 'batch.pdf'));
    expect(pdf.subarray(0, 5).toString()).toBe('%PDF-');
    expect(stderr).not.toMatch(/imported/);
  });

  it("the desktop app's entries start with only the native modules beside them", async () => {
    const pkg = join(work, 'packaged');
    await mkdir(join(pkg, 'dist'), { recursive: true });
    await run('cp', ['-r', join(app, 'dist', 'app'), join(pkg, 'dist', 'app')]);
    await nodeModules(join(pkg, 'node_modules'), NATIVE);
    const entry = (name: string) => join(pkg, 'dist', 'app', `${name}.mjs`);

    const dir = join(work, 'desktop-dc');
    const ceremony = await run(process.execPath, [entry('ceremony-main'), dir], { env });
    expect(JSON.parse(ceremony.stdout)).toMatchObject({ shares: expect.any(Array) });

    const box = spawn(process.execPath, [entry('box-main'), 'meter', dir], { env });
    children.push(box);
    const hello = await new Promise<string>((resolve) => {
      let out = Buffer.alloc(0);
      box.stdout.on('data', (d: Buffer) => {
        out = Buffer.concat([out, d]);
        if (out.length >= 4 && out.length >= 4 + out.readUInt32BE(0))
          resolve(out.subarray(4, 4 + out.readUInt32BE(0)).toString());
      });
    });
    expect(JSON.parse(hello)).toMatchObject({ ok: true, value: { box: 'meter', locked: true } });
    box.stdin.end();

    for (const [name, data] of [
      ['writer-worker', { file: join(work, 'worker.db') }],
      ['checkpoint-worker', { file: join(work, 'worker.db'), intervalMs: 1000 }],
    ] as const) {
      const worker = new Worker(entry(name), { workerData: data });
      const first = await new Promise((resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      });
      expect(first).toBe('ready');
      await worker.terminate();
    }
  });

  it('vpm start --no-window keeps the demo running for the vpm commands it prints, and discards it on Ctrl+C', async () => {
    const child = spawn(
      process.execPath,
      [join(app, 'bin', 'vpm.mjs'), 'start', '--no-window', '--out', 'start-sample.pdf'],
      { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (d) => {
        stdout += d;
        if (stdout.includes('Press Ctrl+C')) resolve();
      });
      void exited.then((code) => reject(new Error(`vpm start exited (${code}): ${stderr}`)));
    });
    expect(stdout).toMatch(/SAMPLE piece \S+ \(\$0\.78, not valid postage\) written to/);
    // The printed command, run as printed in the same folder by a shell with nothing else set.
    const tryLine = /^Try: (.+)$/m.exec(stdout)?.[1] ?? '';
    expect(tryLine).toMatch(/ node app\/bin\/vpm\.mjs balance$/);
    const balance = await run('sh', ['-c', tryLine], {
      cwd: work,
      env: { PATH: process.env.PATH, NODE_OPTIONS: env.NODE_OPTIONS },
    });
    expect(balance.stdout).toMatch(/\$99\.22/);
    const home = /VPM_HOME=(\S+)/.exec(tryLine)?.[1] ?? '';
    await expect(readdir(home)).resolves.not.toHaveLength(0);
    child.kill('SIGINT');
    expect(await exited).toBe(0);
    await expect(readdir(home)).rejects.toThrow(/ENOENT/);
  });

  it('vpm start hands the desktop app to Electron Forge, from the package root, where Electron is installed', async () => {
    // Electron's binary cannot run here: stand-ins at that border, a package `electron` that
    // exports a binary's path as the real one does, and a forge CLI that records how it ran.
    const modules = join(app, 'node_modules');
    await rm(join(modules, 'electron'));
    await rm(join(modules, '@electron-forge'));
    await mkdir(join(modules, 'electron'));
    await writeFile(
      join(modules, 'electron', 'package.json'),
      '{"name":"electron","main":"index.js"}',
    );
    await writeFile(
      join(modules, 'electron', 'index.js'),
      `module.exports = ${JSON.stringify(process.execPath)};`,
    );
    const forge = join(modules, '@electron-forge', 'cli');
    await mkdir(join(forge, 'dist'), { recursive: true });
    await writeFile(
      join(forge, 'package.json'),
      '{"name":"@electron-forge/cli","type":"commonjs"}',
    );
    const record = join(work, 'forge.json');
    await writeFile(
      join(forge, 'dist', 'electron-forge.js'),
      `require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd() }));`,
    );
    // Where forge is not found, vpm start says Electron is missing and runs the demo instead.
    const child = spawn(process.execPath, [join(app, 'bin', 'vpm.mjs'), 'start'], {
      cwd: work,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    const code = await new Promise<number | null>((resolve, reject) => {
      child.stderr.on('data', (d) => {
        stderr += d;
        if (/not installed/.test(stderr)) reject(new Error(`vpm start: ${stderr}`));
      });
      child.on('exit', resolve);
    });
    expect(code, stderr).toBe(0);
    expect(JSON.parse(await readFile(record, 'utf8'))).toEqual({ args: ['start'], cwd: app });
  });
});
