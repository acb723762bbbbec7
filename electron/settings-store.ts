/**
 * @module settings-store
 * The app's settings as a JSON file in Electron's userData directory. Loading never fails: a
 * missing file gives the defaults, an unreadable or invalid one is set aside as `.bad` and
 * replaced by the defaults. Saving validates first and replaces the file atomically.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_SETTINGS, SettingsSchema, type Settings, type SettingsStore } from '../shared/ipc';
import type { Log } from './ipc-router';

export class SettingsError extends Error {
  readonly code = 'BAD_SETTINGS';
  constructor(message: string) {
    super(message);
    this.name = 'SettingsError';
  }
}

export function createJsonSettingsStore(file: string, log: Log): SettingsStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (error) {
        if ((error as { code?: string }).code === 'ENOENT')
          return structuredClone(DEFAULT_SETTINGS);
        throw error;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const merged =
        typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
          ? { ...DEFAULT_SETTINGS, ...parsed }
          : undefined;
      if (merged !== undefined && Value.Check(SettingsSchema, merged)) return merged;
      log('warn', `settings: ${file} is not valid; kept as ${file}.bad, using defaults`);
      await rename(file, `${file}.bad`).catch(() => undefined);
      return structuredClone(DEFAULT_SETTINGS);
    },
    async save(settings: Settings) {
      if (!Value.Check(SettingsSchema, settings)) {
        const first = Value.Errors(SettingsSchema, settings).First();
        throw new SettingsError(`settings: ${first?.path ?? ''} is not valid`);
      }
      const tmp = `${file}.${process.pid}.tmp`;
      await writeFile(tmp, `${JSON.stringify(settings, null, 2)}\n`, { mode: 0o600 });
      await rename(tmp, file);
    },
  };
}
