/**
 * The desktop package's layout, checked without Electron (which cannot run here): the built
 * entries the embedded demo starts and the native modules are packed by the real asar code with
 * forge.config.ts's options, and every path the app resolves for them (launch-paths.ts) is a real
 * file beside the asar. The makers carry the app's name, id and icons, deb and rpm put `vpm` on
 * the PATH, and the fuses stay as they are.
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createPackageWithOptions, listPackage } from '@electron/asar';
import { FuseV1Options } from '@electron/fuses';
import { afterAll, describe, expect, it } from 'vitest';
import config, { APP } from '../../forge.config';
import { CLI_SWITCH, cliArguments } from '../../electron/cli-mode';
import { builtEntriesDir, ignoredInPackage, PACKAGED_PATHS } from '../../electron/launch-paths';
import { DESKTOP_APP_ENTRIES } from '../../runtime/launch';

const ROOT = join(import.meta.dirname, '../..');
const temp: string[] = [];
afterAll(() => Promise.all(temp.map((dir) => rm(dir, { recursive: true, force: true }))));

/** What Electron Packager copies from the project: the files the ignore function keeps. */
const PROJECT_FILES = [
  '/package.json',
  '/.vite/build/main.js',
  '/.vite/build/preload.js',
  '/.vite/renderer/main_window/index.html',
  ...DESKTOP_APP_ENTRIES.map((entry) => `/dist/app/${entry}.mjs`),
  '/dist/app/chunk-ABCDEF.mjs',
  '/dist/cli.mjs',
  '/node_modules/better-sqlite3/package.json',
  '/node_modules/better-sqlite3/lib/index.js',
  '/node_modules/better-sqlite3/build/Release/better_sqlite3.node',
  '/node_modules/bindings/bindings.js',
  '/node_modules/file-uri-to-path/index.js',
  '/node_modules/fastify/fastify.js',
  '/node_modules/tsx/dist/loader.mjs',
  '/client/cli/main.ts',
  '/server-mock/boxes/box-main.ts',
];

describe('the packaged layout', () => {
  it('keeps the Vite build, the built desktop entries and the native modules, and nothing else', () => {
    const kept = PROJECT_FILES.filter((file) => !ignoredInPackage(file));
    expect(kept).toEqual(
      PROJECT_FILES.filter(
        (f) =>
          f.startsWith('/.vite/') ||
          f.startsWith('/dist/app/') ||
          /better-sqlite3|bindings|file-uri/.test(f),
      ),
    );
    // Parent folders are kept so that Packager walks into them.
    for (const dir of ['/dist', '/node_modules', '/.vite'])
      expect(ignoredInPackage(dir)).toBe(false);
  });

  it('packs them so that every entry the app starts is a real file where launch-paths resolves it', async () => {
    const work = await mkdtemp(join(tmpdir(), 'vpm-pack-'));
    temp.push(work);
    const app = join(work, 'app');
    for (const file of PROJECT_FILES.filter((f) => !ignoredInPackage(f))) {
      await mkdir(dirname(join(app, file)), { recursive: true });
      await writeFile(join(app, file), `// ${file}\n`);
    }
    const asarOptions = config.packagerConfig?.asar;
    expect(typeof asarOptions).toBe('object');
    const resources = join(work, 'resources');
    await mkdir(resources);
    const appAsar = join(resources, 'app.asar');
    await createPackageWithOptions(app, appAsar, asarOptions as { unpackDir: string });

    const dir = builtEntriesDir(appAsar);
    expect(dir).toBe(join(resources, 'app.asar.unpacked', 'dist', 'app'));
    for (const entry of DESKTOP_APP_ENTRIES) {
      expect(statSync(join(dir, `${entry}.mjs`)).isFile()).toBe(true);
    }
    const unpacked = join(resources, 'app.asar.unpacked');
    expect(existsSync(join(unpacked, 'dist/app/chunk-ABCDEF.mjs'))).toBe(true);
    expect(
      existsSync(join(unpacked, 'node_modules/better-sqlite3/build/Release/better_sqlite3.node')),
    ).toBe(true);
    expect(existsSync(join(unpacked, 'node_modules/bindings/bindings.js'))).toBe(true);
    expect(existsSync(join(unpacked, 'node_modules/file-uri-to-path/index.js'))).toBe(true);
    // The main process and renderer stay inside the checked asar.
    expect(existsSync(join(unpacked, '.vite'))).toBe(false);
    expect(listPackage(appAsar, { isPack: false })).toContain('/.vite/build/main.js');
  });

  it('finds the built entries beside the project in development', () => {
    expect(builtEntriesDir(ROOT)).toBe(join(ROOT, 'dist', 'app'));
  });

  it('packs only paths the build makes or the app needs at run time', () => {
    expect(PACKAGED_PATHS).toContain('/dist/app');
    expect(PACKAGED_PATHS.some((p) => p.includes('tsx'))).toBe(false);
  });
});

describe('the makers', () => {
  const makers = Object.fromEntries(
    (config.makers ?? []).map((maker) => {
      const m = maker as unknown as {
        name: string;
        configOrConfigFetcher: Record<string, unknown>;
      };
      return [m.name, m.configOrConfigFetcher];
    }),
  );

  it('makes deb, rpm, zip, Squirrel and DMG with the app name, id and icons', () => {
    expect(Object.keys(makers).sort()).toEqual(['deb', 'dmg', 'rpm', 'squirrel', 'zip']);
    expect(config.packagerConfig).toMatchObject({
      name: 'Virtual Postage Meter',
      executableName: 'virtual-postage-meter',
      appBundleId: 'com.example.virtual-postage-meter',
      icon: APP.icon,
    });
    for (const ext of ['png', 'ico', 'icns'])
      expect(existsSync(join(ROOT, `${APP.icon}.${ext}`))).toBe(true);
    expect(makers.squirrel).toMatchObject({ setupIcon: `${APP.icon}.ico` });
    expect(makers.dmg).toMatchObject({ icon: `${APP.icon}.icns`, name: APP.productName });
    for (const linux of ['deb', 'rpm']) {
      expect(makers[linux]?.options).toMatchObject({
        name: APP.name,
        productName: APP.productName,
        bin: APP.name,
        icon: `${APP.icon}.png`,
      });
    }
  });

  it('puts vpm on the PATH from the deb and rpm packages, and takes it off on removal', async () => {
    const deb = (makers.deb?.options as { scripts: Record<string, string> }).scripts;
    const rpm = (makers.rpm?.options as { scripts: Record<string, string> }).scripts;
    expect(deb.postinst).toBe(rpm.post);
    expect(deb.prerm).toBe(rpm.preun);
    const link = await readFile(join(ROOT, deb.postinst as string), 'utf8');
    // Installed under /usr/lib/NAME; extraResource puts the wrapper in its resources/.
    expect(link).toContain(`ln -sf /usr/lib/${APP.name}/resources/vpm /usr/bin/vpm`);
    expect(config.packagerConfig?.extraResource).toContain('build-resources/linux/vpm');
    const unlink = await readFile(join(ROOT, deb.prerm as string), 'utf8');
    expect(unlink).toMatch(/remove \| purge \| 0\) rm -f \/usr\/bin\/vpm/);
    const wrapper = await readFile(join(ROOT, 'build-resources/linux/vpm'), 'utf8');
    expect(wrapper).toContain(
      `"$here/../${APP.name}" --ozone-platform=headless ${CLI_SWITCH} "$@"`,
    );
    for (const file of [deb.postinst, deb.prerm, 'build-resources/linux/vpm'])
      expect(statSync(join(ROOT, file as string)).mode & 0o111).not.toBe(0);
    expect(
      cliArguments([
        '/usr/lib/x/app',
        '--ozone-platform=headless',
        CLI_SWITCH,
        'balance',
        '--json',
      ]),
    ).toEqual(['balance', '--json']);
    expect(cliArguments(['/usr/lib/x/app'])).toBeUndefined();
  });

  it('keeps the fuses: no RunAsNode, no NODE_OPTIONS, no inspect, asar integrity, app only from asar', () => {
    const fuses = (config.plugins ?? []).find(
      (p) => (p as { name?: string }).name === 'fuses',
    ) as unknown as {
      fusesConfig: Record<number, boolean>;
    };
    expect(fuses.fusesConfig).toMatchObject({
      [FuseV1Options.RunAsNode]: false,
      [FuseV1Options.EnableNodeOptionsEnvironmentVariable]: false,
      [FuseV1Options.EnableNodeCliInspectArguments]: false,
      [FuseV1Options.EnableEmbeddedAsarIntegrityValidation]: true,
      [FuseV1Options.OnlyLoadAppFromAsar]: true,
    });
  });
});
