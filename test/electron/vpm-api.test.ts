import { describe, expect, it, vi } from 'vitest';
import { buildVpmApi, type IpcRendererLike } from '../../electron/vpm-api';
import { IPC_CHANNELS } from '../../shared/ipc';

function fakeIpc() {
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>();
  const ipc: IpcRendererLike = {
    invoke: vi.fn(async () => ({ ok: true, value: null })),
    on: (channel, listener) => {
      const set = listeners.get(channel) ?? new Set();
      set.add(listener);
      listeners.set(channel, set);
    },
    removeListener: (channel, listener) => listeners.get(channel)?.delete(listener),
  };
  const emit = (channel: string, payload: unknown) =>
    listeners.get(channel)?.forEach((l) => l({ sender: 'secret' }, payload));
  return { ipc, emit, listeners };
}

describe('buildVpmApi()', () => {
  it('exposes one method per channel and the progress subscription, nothing else', () => {
    const api = buildVpmApi(fakeIpc().ipc);
    expect(Object.keys(api).sort()).toEqual([...IPC_CHANNELS, 'onBatchProgress'].sort());
    for (const value of Object.values(api)) expect(typeof value).toBe('function');
  });

  it('invokes the channel of the method with the request only', async () => {
    const { ipc } = fakeIpc();
    const api = buildVpmApi(ipc);
    await api['postage:quote']({ mailClass: 'first-class', weightOz: 1 });
    expect(ipc.invoke).toHaveBeenCalledWith('postage:quote', {
      mailClass: 'first-class',
      weightOz: 1,
    });
  });

  it('relays batch progress without the IPC event and unsubscribes', () => {
    const { ipc, emit, listeners } = fakeIpc();
    const api = buildVpmApi(ipc);
    const listener = vi.fn();
    const unsubscribe = api.onBatchProgress(listener);
    emit('batch:progress', { batchId: 'b-000001', done: 1, total: 3 });
    expect(listener).toHaveBeenCalledWith({ batchId: 'b-000001', done: 1, total: 3 });
    expect(listener.mock.calls[0]).toHaveLength(1);
    unsubscribe();
    expect(listeners.get('batch:progress')?.size).toBe(0);
  });
});
