/**
 * The desktop app's main process as Electron Forge's Vite plugin builds it (the plugin's own
 * configuration with vite.main.config.ts): a CommonJS bundle where `import.meta.url` works (pdfkit
 * and the launcher need it; left alone, Vite turns it into `{}.url` and the app would stop at
 * start), with the native modules and electron external, and no tsx.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, loadConfigFromFile, mergeConfig, type UserConfig } from 'vite';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');
const require = createRequire(join(ROOT, 'package.json'));
const { getConfig } = require('@electron-forge/plugin-vite/dist/config/vite.main.config.js') as {
  getConfig(env: unknown, user: UserConfig): UserConfig;
};
let out: string | undefined;
afterAll(() => (out ? rm(out, { recursive: true, force: true }) : undefined));

describe("the desktop app's main process bundle", () => {
  it(
    'keeps import.meta.url, leaves the native modules external and loads no tsx',
    { timeout: 180_000 },
    async () => {
      out = await mkdtemp(join(tmpdir(), 'vpm-vite-main-'));
      const forgeEnv = {
        root: ROOT,
        mode: 'production',
        command: 'build',
        forgeConfig: {
          build: [],
          renderer: [{ name: 'main_window', config: 'vite.renderer.config.ts' }],
        },
        forgeConfigSelf: {
          entry: 'electron/main.ts',
          config: 'vite.main.config.ts',
          target: 'main',
        },
      };
      const user = await loadConfigFromFile(
        { command: 'build', mode: 'production' },
        join(ROOT, 'vite.main.config.ts'),
        ROOT,
        'silent',
      );
      const config = mergeConfig(getConfig(forgeEnv, user?.config ?? {}), {
        configFile: false,
        logLevel: 'silent',
        build: { outDir: out, minify: false, emptyOutDir: true },
      });
      await build(config);
      // main.js and the chunks of what it imports on demand (the CLI mode).
      const files = (await readdir(out)).filter((f) => /\.c?js$/.test(f));
      expect(files).toContain('main.js');
      const main = (
        await Promise.all(files.map((f) => readFile(join(out as string, f), 'utf8')))
      ).join('\n');
      expect(main).not.toMatch(/\{\}\.url/);
      expect(main).toContain('pathToFileURL(__filename)');
      for (const external of ['better-sqlite3', 'electron'])
        expect(main).toMatch(new RegExp(`require\\(["']${external}["']\\)`));
      expect(main).not.toMatch(/require\(["']tsx/);
    },
  );
});
