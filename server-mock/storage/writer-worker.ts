/**
 * @module storage/writer-worker
 * The database's writer, on its own thread: it owns the write connection and runs the group
 * commit (SqliteStorage's queue) there, so a COMMIT's fsync never blocks the data center's event
 * loop. Messages are arrays of calls `[id, method, args]`; answers arrays of `[id, ok, value or error]`.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStorage } from './sqlite-storage';

const port = parentPort;
if (!port) throw new Error('writer-worker: must run as a worker thread');
const { file, walLimitBytes, logFrames } = workerData as {
  file: string;
  walLimitBytes: number;
  /** [0]: the log's frames at the checkpointer's last checkpoint (checkpoint-worker.mjs). */
  logFrames: Int32Array;
};
const storage = new SqliteStorage(file, {
  autoCheckpoint: false, // checkpoint-worker.mjs does it, off the commit path
  ...(Number.isFinite(walLimitBytes) ? { logFileLimitBytes: 2 * walLimitBytes } : {}),
});
const frameBytes = storage.logFrameBytes();
const methods = storage as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;

/** One call from the event loop: its id, the SqliteStorage method, the arguments. */
export type WriterCall = [id: number, method: string, args: unknown[]];
/** One answer: the call's id, and its value or its error ({ name, message, code }). */
export type WriterAnswer = [id: number, ok: boolean, value: unknown];

// The answers of one group commit go back in one message; then, past its limit, the write-ahead
// log is rewound (after the answers, so none of them waits for it). The checkpointer counts the
// log's frames as it copies them; right after its checkpoint, little is left to copy here.
let answers: WriterAnswer[] = [];
const send = () => {
  const batch = answers;
  answers = [];
  port.postMessage(batch);
  if (storage.restartLogPast(walLimitBytes, Atomics.load(logFrames, 0) * frameBytes))
    Atomics.store(logFrames, 0, 0);
};
const answer = (a: WriterAnswer) => {
  if (answers.length === 0) setImmediate(send);
  answers.push(a);
};

port.on('message', (message: WriterCall[] | 'close') => {
  if (message === 'close') {
    void storage.close().then(() => port.close());
    return;
  }
  for (const [id, method, args] of message)
    methods[method]!.apply(storage, args).then(
      (value) => answer([id, true, value]),
      (error: unknown) => {
        const e = error as { name?: string; message?: string; code?: string };
        answer([
          id,
          false,
          { name: e.name ?? 'Error', message: e.message ?? String(error), code: e.code },
        ]);
      },
    );
});
port.postMessage('ready');
