import { mkdtemp, readFile, writeFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { createJsonSettingsStore } from '../../electron/settings-store';
import { DEFAULT_SETTINGS, type Settings } from '../../shared/ipc';

async function store() {
  const dir = await mkdtemp(path.join(tmpdir(), 'vpm-settings-'));
  const file = path.join(dir, 'settings.json');
  const log = vi.fn();
  return { file, log, settings: createJsonSettingsStore(file, log) };
}

describe('createJsonSettingsStore()', () => {
  it('gives the defaults when there is no file', async () => {
    const { settings } = await store();
    await expect(settings.load()).resolves.toEqual(DEFAULT_SETTINGS);
  });

  it('saves and loads the same settings, readable only by the user', async () => {
    const { file, settings } = await store();
    const saved: Settings = {
      ...DEFAULT_SETTINGS,
      serverUrl: 'https://dc.example.com:8443',
      demoMode: false,
      defaultPrinter: 'Office_Laser',
      calibration: { Office_Laser: { xMm: 1.5, yMm: -0.5 } },
    };
    await settings.save(saved);
    await expect(settings.load()).resolves.toEqual(saved);
    if (process.platform !== 'win32') expect((await stat(file)).mode & 0o077).toBe(0);
  });

  it('refuses to save invalid settings', async () => {
    const { settings } = await store();
    await expect(
      settings.save({ ...DEFAULT_SETTINGS, serverUrl: 'http://plain.example.com' }),
    ).rejects.toMatchObject({ code: 'BAD_SETTINGS' });
  });

  it('sets a corrupt file aside and falls back to the defaults', async () => {
    const { file, log, settings } = await store();
    await writeFile(file, '{"serverUrl": 42');
    await expect(settings.load()).resolves.toEqual(DEFAULT_SETTINGS);
    await expect(readFile(`${file}.bad`, 'utf8')).resolves.toBe('{"serverUrl": 42');
    expect(log).toHaveBeenCalledWith('warn', expect.stringContaining('not valid'));
  });

  it('drops a calibration beyond what the print driver draws, keeping every other setting', async () => {
    const { file, log, settings } = await store();
    const kept = {
      ...DEFAULT_SETTINGS,
      serverUrl: 'https://dc.example.com',
      demoMode: false,
      calibration: { Office: { xMm: 1, yMm: -2 } },
    };
    // Saved by an earlier version that allowed 25 mm.
    const old = { ...kept, calibration: { ...kept.calibration, Zebra: { xMm: 22.5, yMm: 0 } } };
    await writeFile(file, JSON.stringify(old));
    await expect(settings.load()).resolves.toEqual(kept);
    expect(log).toHaveBeenCalledWith('warn', expect.stringContaining('"Zebra"'));
    await expect(settings.save(old as Settings)).rejects.toMatchObject({ code: 'BAD_SETTINGS' });
  });

  it('fills settings added since the file was written with their defaults', async () => {
    const { file, settings } = await store();
    await writeFile(file, JSON.stringify({ serverUrl: 'https://dc.example.com' }));
    await expect(settings.load()).resolves.toEqual({
      ...DEFAULT_SETTINGS,
      serverUrl: 'https://dc.example.com',
    });
  });
});
