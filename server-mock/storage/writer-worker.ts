/**
 * @module storage/writer-worker
 * The database's writer, on its own thread: it owns the write connection and runs the group
 * commit (SqliteStorage's queue) there, so a COMMIT's fsync never blocks the data center's event
 * loop. Messages are `{ id, method, args }`; answers `{ id, ok, value }` or `{ id, ok: false, error }`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStorage } from './sqlite-storage';

const port = parentPort;
if (!port) throw new Error('writer-worker: must run as a worker thread');
const storage = new SqliteStorage((workerData as { file: string }).file, {
  autoCheckpoint: false, // checkpoint-worker.mjs does it, off the commit path
});
const methods = storage as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;

port.on('message', (message: { id: number; method: string; args: unknown[] } | 'close') => {
  if (message === 'close') {
    void storage.close().then(() => port.close());
    return;
  }
  const { id, method, args } = message;
  methods[method]!.apply(storage, args).then(
    (value) => port.postMessage({ id, ok: true, value }),
    (error: unknown) => {
      const e = error as { name?: string; message?: string; code?: string };
      port.postMessage({
        id,
        ok: false,
        error: { name: e.name ?? 'Error', message: e.message ?? String(error), code: e.code },
      });
    },
  );
});
port.postMessage('ready');
