// The database's checkpointer, on a thread of its own (plain JavaScript: it needs no loader).
// The writer connection never checkpoints (wal_autocheckpoint = 0), so a COMMIT never waits for
// the write-ahead log to be copied into the database file and fsynced; this thread does that
// copy with PASSIVE checkpoints, which block neither the writer nor the readers. A log past its
// limit is left to the writer, which rewinds it (SqliteStorage.restartLogPast): a checkpoint
// running here then would only make the writer's fail and wait.
import { statSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

const { file, intervalMs, walLimitBytes = Infinity } = workerData;
const db = new Database(file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');

/** The write-ahead log's size, or 0 when it is not there. */
const logSize = () => statSync(`${file}-wal`, { throwIfNoEntry: false })?.size ?? 0;

const timer = setInterval(() => {
  try {
    if (logSize() < walLimitBytes) db.pragma('wal_checkpoint(PASSIVE)');
  } catch (error) {
    parentPort?.postMessage({ error: error instanceof Error ? error.message : String(error) });
  }
}, intervalMs);

parentPort?.on('message', (message) => {
  if (message !== 'close') return;
  clearInterval(timer);
  db.close();
  parentPort?.close();
});
parentPort?.postMessage('ready');
