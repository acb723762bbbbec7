// `npm run build` (and `npm ci`, through `prepare`): bundles every entry the product runs
// (runtime/entries.json: the CLI, the box program, the key ceremony, the SQLite writer and
// checkpoint threads, the bench helpers) into dist/ as ES modules with shared chunks, so `vpm`
// and every process or thread it starts run plain JavaScript; npm packages stay external (the
// installed node_modules). dist/app/ holds the entries the desktop app starts, with their npm
// packages bundled in except the native ones, so the packaged app needs only those beside it
// (forge.config.ts). The app's main, preload and renderer are built by Forge's Vite plugin.
// `node scripts/build.mjs --outdir DIR` builds elsewhere (the build smoke test does).
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { entries, desktopApp, native } = JSON.parse(
  readFileSync(join(root, 'runtime', 'entries.json'), 'utf8'),
);
const { dependencies, optionalDependencies } = JSON.parse(
  readFileSync(join(root, 'package.json'), 'utf8'),
);
/**
 * Bundled into dist/ although npm packages: undici, which `vpm balance` and every other online
 * command load (one file parses faster than its hundreds of CommonJS modules), and commander,
 * which every command loads (bundled, it skips Node's CommonJS loader and export scan).
 */
const BUNDLED = ['undici', 'commander'];
const external = Object.keys({ ...dependencies, ...optionalDependencies })
  .filter((name) => !BUNDLED.includes(name))
  .flatMap((name) => [name, `${name}/*`]);
const at = process.argv.indexOf('--outdir');
const outdir = at > 0 ? resolve(process.argv[at + 1]) : join(root, 'dist');

const common = {
  absWorkingDir: root,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20.19',
  chunkNames: '[name]-[hash]',
  sourcemap: 'linked',
  legalComments: 'none',
  logLevel: 'warning',
  // Bundled CommonJS packages call require(): give the ES module output one.
  banner: {
    js: "import { createRequire as __vpmCreateRequire } from 'node:module'; const require = __vpmCreateRequire(import.meta.url);",
  },
};

rmSync(outdir, { recursive: true, force: true });
const started = Date.now();
await build({
  ...common,
  entryPoints: Object.entries(entries).map(([out, source]) => ({ out, in: source })),
  outdir,
  external,
});
await build({
  ...common,
  entryPoints: desktopApp.map((name) => ({ out: name, in: entries[name] })),
  outdir: join(outdir, 'app'),
  external: native,
});
console.log(
  `build: ${Object.keys(entries).length} entries into ${outdir}, ${desktopApp.length} for the desktop app into ${join(outdir, 'app')} (${Date.now() - started} ms)`,
);
