import { describe, expect, it, vi } from 'vitest';
import { INTERNAL_MESSAGE, toIpcError } from '../../electron/ipc-errors';
import {
  createIpcRouter,
  dispatch,
  senderCheck,
  type InvokeEventLike,
  type IpcMainLike,
} from '../../electron/ipc-router';
import { createUrlTrust } from '../../electron/trusted-url';
import { IPC_CHANNELS, type Account } from '../../shared/ipc';
import { type ClientServices } from '../../client/services/contract';

const ACCOUNT: Account = {
  username: 'alice',
  name: 'Alice Office',
  originZip: '10001',
  meterSerial: 'VPM000000001',
  balanceCents: 1500,
  ascendingCents: 250,
  lowBalanceCents: 500,
  autoRefillCents: null,
  demo: false,
};

const OWN_ID = 7;
const isTrustedSender = senderCheck((id) => id === OWN_ID, createUrlTrust('app://vpm'));

function event(overrides: Partial<{ id: number; url: string; parent: unknown; frame: null }> = {}) {
  const send = vi.fn();
  const ev: InvokeEventLike = {
    sender: { id: overrides.id ?? OWN_ID, send },
    senderFrame:
      overrides.frame === null
        ? null
        : { url: overrides.url ?? 'app://vpm/index.html', parent: overrides.parent ?? null },
  };
  return { ev, send };
}

/** A router over a recording ipcMain; `invoke` plays a renderer's ipcRenderer.invoke. */
function setup() {
  const handlers = new Map<string, (e: InvokeEventLike, ...args: unknown[]) => Promise<unknown>>();
  const ipcMain: IpcMainLike = { handle: (channel, listener) => handlers.set(channel, listener) };
  const log = vi.fn();
  const router = createIpcRouter({ ipcMain, isTrustedSender, log });
  const invoke = (channel: string, payload: unknown, ev = event().ev) => {
    const handler = handlers.get(channel);
    if (!handler) throw new Error(`no handler for ${channel}`);
    return handler(ev, payload);
  };
  return { router, handlers, invoke, log };
}

const goodSignIn = { username: 'alice', password: 'correct horse', remember: false };

describe('createIpcRouter()', () => {
  describe('handle()', () => {
    it('answers a good payload with {ok: true, value}', async () => {
      const { router, invoke } = setup();
      const fn = vi.fn(async () => ACCOUNT);
      router.handle('auth:signIn', fn);
      await expect(invoke('auth:signIn', goodSignIn)).resolves.toEqual({
        ok: true,
        value: ACCOUNT,
      });
      expect(fn).toHaveBeenCalledWith(goodSignIn, expect.anything());
    });

    it.each([
      ['a missing payload', undefined, ''],
      ['a payload that is not an object', 'alice', ''],
      ['a missing field', { username: 'alice', password: 'x' }, '/remember'],
      ['a field of the wrong type', { ...goodSignIn, remember: 'yes' }, '/remember'],
      ['an unknown field', { ...goodSignIn, isAdmin: true }, '/isAdmin'],
      ['a username outside its pattern', { ...goodSignIn, username: 'a b' }, '/username'],
    ])('refuses %s with BAD_REQUEST and never calls the service', async (_why, payload, field) => {
      const { router, invoke } = setup();
      const fn = vi.fn(async () => ACCOUNT);
      router.handle('auth:signIn', fn);
      const result = (await invoke('auth:signIn', payload)) as {
        ok: boolean;
        error: { code: string; field?: string };
      };
      expect(result.ok).toBe(false);
      expect(result.error.code).toBe('BAD_REQUEST');
      if (field !== '') expect(result.error.field).toBe(field);
      expect(fn).not.toHaveBeenCalled();
    });

    it('refuses money that is not integer cents', async () => {
      const { router, invoke } = setup();
      const fn = vi.fn(async () => ACCOUNT);
      router.handle('account:refill', fn);
      for (const amountCents of [12.5, -100, 0, Number.NaN, '1000', 1e12]) {
        const result = await invoke('account:refill', {
          amountCents,
          cardNumber: '4111111111111111',
        });
        expect(result).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
      }
      expect(fn).not.toHaveBeenCalled();
    });

    it.each([
      ['another webContents', { id: 99 }],
      ['a subframe of our window', { parent: {} }],
      ['a frame that has gone', { frame: null }],
      ['a page at another origin', { url: 'https://evil.com/index.html' }],
      ['a file: page', { url: 'file:///tmp/evil.html' }],
      ['a userinfo trick', { url: 'app://vpm@evil.com/' }],
    ] as const)('drops a message from %s without calling the service', async (_why, overrides) => {
      const { router, invoke, log } = setup();
      const fn = vi.fn(async () => ACCOUNT);
      router.handle('auth:signIn', fn);
      const result = await invoke('auth:signIn', goodSignIn, event(overrides).ev);
      expect(result).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
      expect(fn).not.toHaveBeenCalled();
      expect(log).toHaveBeenCalledWith('warn', expect.stringContaining('untrusted sender'));
    });

    it('maps a coded service error to {code, message, field}', async () => {
      const { router, invoke } = setup();
      router.handle('auth:signUp', async () => {
        throw Object.assign(new Error('Username "alice" is taken: choose another one.'), {
          code: 'USERNAME_TAKEN',
          field: '/username',
        });
      });
      await expect(
        invoke('auth:signUp', {
          username: 'alice',
          password: 'long enough pw',
          originZip: '10001',
        }),
      ).resolves.toEqual({
        ok: false,
        error: {
          code: 'USERNAME_TAKEN',
          message: 'Username "alice" is taken: choose another one.',
          field: '/username',
        },
      });
    });

    it('maps an uncoded error to INTERNAL without its message or stack', async () => {
      const { router, invoke, log } = setup();
      router.handle('account:get', async () => {
        throw new TypeError(
          "Cannot read properties of undefined (reading 'x') at /home/u/secret.ts",
        );
      });
      const result = await invoke('account:get', {});
      expect(result).toEqual({ ok: false, error: { code: 'INTERNAL', message: INTERNAL_MESSAGE } });
      expect(JSON.stringify(result)).not.toContain('secret');
      expect(log).toHaveBeenCalledWith('error', expect.stringContaining('secret.ts'));
    });

    it('refuses a service answer that breaks the result schema', async () => {
      const { router, invoke } = setup();
      router.handle('account:get', async () => ({ ...ACCOUNT, balanceCents: 12.5 }));
      await expect(invoke('account:get', {})).resolves.toMatchObject({
        ok: false,
        error: { code: 'INTERNAL' },
      });
    });

    it('sends service events back to the webContents that asked', async () => {
      const { router, invoke } = setup();
      router.handle('batch:run', async (_request, context) => {
        context.emit('batch:progress', { batchId: 'batch-0001', done: 1, total: 2 });
        return { pieces: 2, pdfPath: '/tmp/b.pdf', jobId: null, balanceCents: 100 };
      });
      const { ev, send } = event();
      const csv = 'name,street,city,state,zip,mail_class,weight_oz\n';
      await invoke(
        'batch:run',
        { csv, media: 'label4x6', printer: null, batchId: 'batch-0001' },
        ev,
      );
      expect(send).toHaveBeenCalledWith('batch:progress', {
        batchId: 'batch-0001',
        done: 1,
        total: 2,
      });
    });
  });

  describe('handleAll()', () => {
    it('registers exactly one handler per channel', () => {
      const { router, handlers } = setup();
      const services = Object.fromEntries(
        IPC_CHANNELS.map((c) => [c, vi.fn()]),
      ) as unknown as ClientServices;
      router.handleAll(services);
      expect([...handlers.keys()].sort()).toEqual([...IPC_CHANNELS].sort());
    });
  });
});

describe('dispatch()', () => {
  const context = { emit: vi.fn() };

  it('refuses an unknown channel', async () => {
    for (const channel of ['auth:sudo', '__proto__', 'constructor', 42]) {
      await expect(dispatch(channel, {}, {}, context, vi.fn())).resolves.toMatchObject({
        ok: false,
        error: { code: 'UNKNOWN_CHANNEL' },
      });
    }
  });

  it('answers through the service of that channel', async () => {
    const services = { 'app:info': async () => ({ demo: true, version: '0.1.0' }) };
    await expect(dispatch('app:info', {}, services, context, vi.fn())).resolves.toEqual({
      ok: true,
      value: { demo: true, version: '0.1.0' },
    });
  });
});

describe('toIpcError()', () => {
  it.each([
    [
      'a Node system error',
      Object.assign(new Error("ENOENT: open '/home/u/x'"), {
        code: 'ENOENT',
        errno: -2,
        syscall: 'open',
      }),
    ],
    [
      'a Node internal error',
      Object.assign(new Error('bad arg at /x'), { code: 'ERR_INVALID_ARG_TYPE' }),
    ],
    [
      'an undici error',
      Object.assign(new Error('connect to 10.0.0.1'), { code: 'UND_ERR_SOCKET' }),
    ],
    ['a lowercase code', Object.assign(new Error('x'), { code: 'oops' })],
    ['a string', 'boom'],
    ['null', null],
  ])('hides %s behind INTERNAL', (_why, error) => {
    expect(toIpcError(error)).toEqual({ code: 'INTERNAL', message: INTERNAL_MESSAGE });
  });

  it('keeps the code and message of a service error', () => {
    const error = Object.assign(new Error('Balance too low: refill first.'), {
      code: 'INSUFFICIENT_FUNDS',
    });
    expect(toIpcError(error)).toEqual({
      code: 'INSUFFICIENT_FUNDS',
      message: 'Balance too low: refill first.',
    });
  });
});
