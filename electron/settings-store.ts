/**
 * @module settings-store
 * The app's settings as a JSON file in Electron's userData directory. Loading never fails: a
 * missing file gives the defaults, an unreadable or invalid one is set aside as `.bad` and
 * replaced by the defaults. Saving validates first and replaces the file atomically.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { Value } from '@sinclair/typebox/value';
import { DEFAULT_SETTINGS, SettingsSchema, type Settings } from '../shared/ipc';
import { MAX_CALIBRATION_MM } from '../shared/domain';
import { type SettingsStore } from '../client/services/contract';
import type { Log } from './ipc-router';

/**
 * Drops the printer calibrations beyond what the print driver draws (earlier versions saved up
 * to 25 mm), so one such entry costs its printer's calibration, not every setting.
 */
function withoutOutOfRangeCalibrations(
  settings: Record<string, unknown>,
  log: Log,
): Record<string, unknown> {
  const calibration = settings.calibration;
  if (typeof calibration !== 'object' || calibration === null || Array.isArray(calibration))
    return settings;
  const kept: Record<string, unknown> = {};
  for (const [printer, value] of Object.entries(calibration)) {
    const { xMm, yMm } = (value ?? {}) as { xMm?: unknown; yMm?: unknown };
    const beyond = [xMm, yMm].some(
      (v) => typeof v === 'number' && Math.abs(v) > MAX_CALIBRATION_MM,
    );
    if (beyond)
      log(
        'warn',
        `settings: the calibration of printer ${JSON.stringify(printer)} is beyond ${MAX_CALIBRATION_MM} mm; dropped, calibrate it again`,
      );
    else kept[printer] = value;
  }
  return { ...settings, calibration: kept };
}

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
          ? withoutOutOfRangeCalibrations({ ...DEFAULT_SETTINGS, ...parsed }, log)
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
