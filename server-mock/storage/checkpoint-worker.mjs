// The database's checkpointer, on a thread of its own (plain JavaScript: it needs no loader).
// The writer connection never checkpoints (wal_autocheckpoint = 0), so a COMMIT never waits for
// the write-ahead log to be copied into the database file and fsynced; this thread does that
// copy with PASSIVE checkpoints, which block neither the writer nor the readers, and counts the
// log's frames for the writer, which rewinds the log past its limit (SqliteStorage.restartLogPast).
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';

/** logFrames[0]: the log's frames at the last checkpoint, shared with the writer thread. */
const { file, intervalMs, logFrames } = workerData;
const db = new Database(file);
db.pragma('busy_timeout = 5000');
db.pragma('synchronous = FULL');

const timer = setInterval(() => {
  try {
    const [result] = db.pragma('wal_checkpoint(PASSIVE)');
    if (result && result.log >= 0) Atomics.store(logFrames, 0, result.log);
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
