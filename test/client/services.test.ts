/**
 * The desktop app's client services on their own (no window): switching demo mode in the
 * settings starts the embedded demo data center with a demo mailer whose pieces are SAMPLE
 * indicia, and switching it off leaves the demo.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startDemoBackend } from '../../app/demo-backend';
import { createClientServices } from '../../client/services/index';
import { DEFAULT_SETTINGS, type Settings } from '../../shared/ipc';
import { type ClientRuntime, type ServiceContext } from '../../client/services/contract';

let runtime: ClientRuntime | undefined;
afterAll(async () => {
  await runtime?.close();
});

const context: ServiceContext = { emit: () => undefined };

describe('client services', () => {
  it('turns demo mode on and off from the settings', async () => {
    process.env.VPM_KEYCHAIN = 'none';
    let saved: Settings = { ...DEFAULT_SETTINGS, demoMode: false };
    runtime = await createClientServices({
      dataDir: await mkdtemp(join(tmpdir(), 'vpm-services-')),
      appVersion: 'test',
      settings: { load: async () => saved, save: async (s) => void (saved = s) },
      startDemoBackend,
    });
    const s = runtime.services;
    expect(await s['app:info']({}, context)).toEqual({ demo: false, version: 'test' });

    await s['settings:set']({ ...saved, demoMode: true }, context);
    expect((await s['app:info']({}, context)).demo).toBe(true);
    const account = await s['account:get']({}, context);
    expect(account.demo).toBe(true);
    expect(account.balanceCents).toBeGreaterThan(0);

    const piece = {
      recipient: {
        name: 'Ann Lee',
        street: '1 Main St',
        city: 'Springfield',
        state: 'IL',
        zip: '62701',
      },
      postageCents: 78,
      mailClass: 'first-class' as const,
      media: 'env10' as const,
      printer: null,
      idempotencyKey: 'services-demo-piece-0001',
    };
    const printed = await s['piece:print'](piece, context);
    expect(printed.balanceCents).toBe(account.balanceCents - 78);
    expect((await readFile(printed.pdfPath)).subarray(0, 5).toString()).toBe('%PDF-');
    // The same key again: the same piece, charged once.
    const again = await s['piece:print'](piece, context);
    expect(again.pieceId).toBe(printed.pieceId);
    expect(again.balanceCents).toBe(printed.balanceCents);

    await s['settings:set']({ ...saved, demoMode: false }, context);
    expect((await s['app:info']({}, context)).demo).toBe(false);
    await expect(s['account:get']({}, context)).rejects.toMatchObject({ code: 'NOT_SIGNED_IN' });
  });

  it('refuses demo mode, saying what to do, when no embedded data center was handed in', async () => {
    process.env.VPM_KEYCHAIN = 'none';
    let saved: Settings = { ...DEFAULT_SETTINGS, demoMode: false };
    const bare = await createClientServices({
      dataDir: await mkdtemp(join(tmpdir(), 'vpm-services-')),
      appVersion: 'test',
      settings: { load: async () => saved, save: async (s) => void (saved = s) },
    });
    try {
      await expect(
        bare.services['settings:set']({ ...saved, demoMode: true }, context),
      ).rejects.toMatchObject({ code: 'DEMO_UNAVAILABLE', message: /turn demo mode off/ });
      await expect(bare.startDemo()).rejects.toMatchObject({ code: 'DEMO_UNAVAILABLE' });
    } finally {
      await bare.close();
    }
  });
});
