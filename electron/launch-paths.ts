/**
 * @module electron/launch-paths
 * Where the desktop app finds the built entries it starts (the embedded demo's boxes, key
 * ceremony and database threads: dist/app/, made by `npm run build`). In development the app
 * path is the project folder; packaged, it is resources/app.asar, and forge.config.ts keeps
 * dist/app/ unpacked beside it (app.asar.unpacked), because a utility process or worker thread
 * is started from a real file, and better-sqlite3's native module must be one.
 */
import path from 'node:path';

/** The folder of the built desktop-app entries, for the given app path (app.getAppPath()). */
export function builtEntriesDir(appPath: string): string {
  const base = path.extname(appPath) === '.asar' ? `${appPath}.unpacked` : appPath;
  return path.join(base, 'dist', 'app');
}

/** Files and folders of the project that the packaged app needs beside the Vite build. */
export const PACKAGED_PATHS = [
  '/dist/app',
  '/node_modules/better-sqlite3',
  '/node_modules/bindings',
  '/node_modules/file-uri-to-path',
  '/node_modules/keytar',
] as const;

/**
 * The asar's `unpackDir`: all of PACKAGED_PATHS stay real files in app.asar.unpacked, where a
 * utility process or worker starts from, and where better-sqlite3's resolution from dist/app
 * finds it, its loader `bindings` and the native module.
 */
export const UNPACKED_DIRS = `{${PACKAGED_PATHS.flatMap((p) => [p.slice(1), `${p.slice(1)}/**`]).join(',')}}`;

/**
 * Electron Packager's `ignore`: true for what stays out of the package. Kept: the Vite build
 * (.vite, as Forge's Vite plugin does), the built entries and the native modules with their
 * loaders. Paths start with `/`, relative to the project.
 */
export function ignoredInPackage(file: string): boolean {
  if (!file) return false;
  const kept = ['/.vite', ...PACKAGED_PATHS];
  return !kept.some(
    (keep) => file === keep || file.startsWith(`${keep}/`) || keep.startsWith(`${file}/`),
  );
}
