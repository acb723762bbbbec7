/**
 * @module storage/threaded-storage
 * SqliteStorage with its writes on a worker thread (writer-worker.ts): reads run here on a
 * connection of their own (WAL lets them see every committed write), writes are posted to the
 * writer, whose group commit fsyncs without stalling the requests being served meanwhile.
 * A write's promise still settles only after the COMMIT that made it durable. A third connection,
 * on a thread of its own, checkpoints the write-ahead log (checkpoint-worker.mjs).
 */
import type { Worker } from 'node:worker_threads';
import { launchWorker } from '../../runtime/launch';
import { dispenseRows, SqliteStorage } from './sqlite-storage';
import {
  StorageConflictError,
  StorageUnavailableError,
  type DispenseCommit,
  type Storage,
} from './storage';
import type { WriterAnswer, WriterCall } from './writer-worker';

const WRITES = [
  'createMailer',
  'updateMailerSettings',
  'insertMeter',
  'commitDispense',
  'allocateTrackingSerials',
  'commitCredit',
  'commitRecovered',
  'insertLogin',
  'insertSession',
  'revokeSession',
  'addAlert',
  'setCardToken',
  'noteScan',
  'claimForRefund',
  'releaseRefundClaim',
  'addScanner',
  'setAdminTokenHash',
  'clearPostalOutbox',
  'addSignOnFailures',
  'clearSignOnFailures',
] as const satisfies readonly (keyof Storage)[];

type WireError = { name: string; message: string; code?: string };

function revive(error: WireError): Error {
  const revived =
    error.name === 'StorageConflictError'
      ? new StorageConflictError(error.message)
      : error.name === 'StorageUnavailableError'
        ? new StorageUnavailableError(error.message)
        : new Error(error.message);
  if (error.code) Object.assign(revived, { code: error.code });
  return revived;
}

/** How often the checkpointer copies the write-ahead log into the database file. */
const CHECKPOINT_INTERVAL_MS = 200;

/** How long after its thread stopped a new checkpointer starts; doubled up to the most. */
const CHECKPOINTER_RESTART_MS = 100;
const CHECKPOINTER_RESTART_MAX_MS = 30_000;
/** A checkpointer that ran this long before it stopped is replaced after the first pause again. */
const CHECKPOINTER_STEADY_MS = 60_000;

/** Each threaded storage's checkpointer thread of the moment (tests stop it to see it replaced). */
export const checkpointers = new WeakMap<Storage, Worker>();

/** The write-ahead log's size past which the writer rewinds it (SqliteStorage.restartLogPast). */
export const WAL_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Opens the database (migrating it here first) and starts its writer thread. `walLimitBytes`:
 * the write-ahead log's size past which the writer rewinds it; `checkpointIntervalMs`: how often
 * the checkpointer runs (tests make both small).
 */
export async function openThreadedStorage(
  file: string,
  options: { walLimitBytes?: number; checkpointIntervalMs?: number } = {},
): Promise<Storage> {
  const reads = new SqliteStorage(file); // migrates before the writer opens the file
  const walLimitBytes = options.walLimitBytes ?? WAL_LIMIT_BYTES;
  // The log's frames as the checkpointer last counted them, read by the writer after each commit.
  const logFrames = new Int32Array(new SharedArrayBuffer(4));
  const worker = launchWorker('writer-worker', {
    workerData: { file, walLimitBytes, logFrames },
  });
  // The checkpointer is the writer's only count of the log: if its thread stops (its own errors
  // are caught, so only a crash of the thread), a new one takes over a moment later, after a
  // pause that doubles while new ones keep stopping soon after they started.
  let running = false; // set once the storage is handed out: nothing is restarted before
  let closing = false;
  let restartMs = CHECKPOINTER_RESTART_MS;
  const stopped = new WeakSet<Worker>();
  const startCheckpointer = (): Worker => {
    const startedAt = Date.now();
    const thread = launchWorker('checkpoint-worker', {
      workerData: {
        file,
        intervalMs: options.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS,
        logFrames,
      },
    });
    thread.on('error', () => undefined); // reported by its exit below; data is safe
    thread.once('exit', (code) => {
      stopped.add(thread);
      if (closing || !running) return;
      if (Date.now() - startedAt >= CHECKPOINTER_STEADY_MS) restartMs = CHECKPOINTER_RESTART_MS;
      const pause = restartMs;
      restartMs = Math.min(restartMs * 2, CHECKPOINTER_RESTART_MAX_MS);
      process.stderr.write(
        `database: the checkpointer thread stopped (exit code ${code}); starting a new one in ${pause} ms\n`,
      );
      setTimeout(() => {
        if (closing) return;
        checkpointer = startCheckpointer();
        checkpointers.set(storage, checkpointer);
      }, pause).unref();
    });
    return thread;
  };
  let checkpointer = startCheckpointer();
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 0;
  let failure: Error | undefined;
  worker.on('message', (answers: WriterAnswer[] | 'ready') => {
    if (answers === 'ready') return;
    for (const [id, ok, value] of answers) {
      const p = pending.get(id);
      if (!p) continue;
      pending.delete(id);
      if (ok) p.resolve(value);
      else p.reject(revive(value as WireError));
    }
  });
  const fail = (error: Error) => {
    failure ??= error;
    for (const p of pending.values()) p.reject(error);
    pending.clear();
  };
  worker.on('error', fail);
  worker.on('exit', () => fail(new Error('database: the writer thread stopped')));
  try {
    await Promise.all(
      [worker, checkpointer].map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            w.once('message', () => resolve());
            w.once('error', reject);
          }),
      ),
    );
  } catch (error) {
    closing = true;
    await Promise.all([worker.terminate(), checkpointer.terminate()]);
    await reads.close();
    throw error;
  }

  // The calls made in one turn of the event loop go to the writer in one message (the writer
  // answers each group commit in one message too): one hand-over between threads, not one a call.
  let outbox: WriterCall[] = [];
  const send = () => {
    if (outbox.length === 0) return;
    const calls = outbox;
    outbox = [];
    worker.postMessage(calls);
  };
  const call = (method: string, args: unknown[]): Promise<unknown> => {
    if (failure) return Promise.reject(failure);
    const id = next++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      if (outbox.length === 0) setImmediate(send);
      outbox.push([id, method, args]);
    });
  };

  // Reads go to `reads` (the prototype); the write methods are replaced by calls to the writer.
  const storage = Object.create(reads) as Storage;
  for (const method of WRITES)
    (storage as unknown as Record<string, unknown>)[method] = (...args: unknown[]) =>
      call(method, args);
  // A dispense travels as flat rows (sqlite-storage.ts, DispenseRows).
  storage.commitDispense = (c: DispenseCommit) =>
    call('commitDispenseRows', [dispenseRows(c)]) as Promise<(string | null)[]>;
  storage.close = async () => {
    closing = true;
    if (!stopped.has(checkpointer)) {
      const checkpointerExited = new Promise((resolve) => checkpointer.once('exit', resolve));
      checkpointer.postMessage('close');
      await checkpointerExited;
    }
    if (!failure) {
      send();
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage('close');
      await exited;
    }
    await reads.close();
  };
  checkpointers.set(storage, checkpointer);
  running = true;
  return storage;
}
