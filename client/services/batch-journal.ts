/**
 * @module services/batch-journal
 * The resume file of a batch run, `batches/<digest>.json` in the client's folder: a journal of
 * JSON lines, appended to and never rewritten (a 10,000-row batch used to rewrite the whole file
 * after every chunk). The first line, written before the first purchase, names the run; each
 * row's idempotency key follows from the run id and the row's line, so no key is stored. Then one
 * line per chunk bought (line → piece id) and a last line when the run is complete. A line torn by
 * a crash at the end is ignored: it only recorded pieces whose keys answer them again.
 *
 * The file of an earlier version (one JSON object with every key) is read as the same journal.
 */
import { appendFile, readFile } from 'node:fs/promises';
import { writePrivate } from './config';

export interface BatchRun {
  batchId: string;
  complete: boolean;
  completedAt?: string;
  /** The idempotency key of the row on `line` of the list. */
  keyOf(line: number): string;
}

interface Header {
  batchId: string;
  csvDigest: string;
  /** Earlier versions: line → key. */
  keys?: Record<string, string>;
  complete?: boolean;
  completedAt?: string;
}

type Entry = { paid: Record<string, string> } | { complete: true; completedAt: string };

function runOf(header: Header, complete: boolean, completedAt?: string): BatchRun {
  const keys = header.keys;
  return {
    batchId: header.batchId,
    complete,
    ...(completedAt ? { completedAt } : {}),
    keyOf: keys
      ? (line) => keys[line] ?? `b-${header.batchId}-${line}`.slice(0, 128)
      : (line) => `b-${header.batchId}-${line}`.slice(0, 128),
  };
}

/**
 * The run recorded in `file`, or undefined when there is none. Leaves the file ready for lines to
 * follow: a torn last line is dropped, and an earlier version's file gets its line end.
 */
export async function readRun(file: string): Promise<BatchRun | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const lines = text.split('\n').filter((l) => l.trim());
  const parsed: unknown[] = [];
  for (const [i, line] of lines.entries()) {
    try {
      parsed.push(JSON.parse(line));
    } catch (error) {
      if (i === lines.length - 1 && i > 0) break; // torn by a crash while it was appended
      throw new Error(
        `${file}: cannot be read (${(error as Error).message}); if no batch of this list is running, delete it and run the batch again`,
      );
    }
  }
  const header = parsed[0] as Header | undefined;
  if (!header?.batchId) return undefined;
  if (parsed.length < lines.length) {
    await writePrivate(file, lines.slice(0, parsed.length).join('\n') + '\n');
  } else if (!text.endsWith('\n')) {
    await appendFile(file, '\n');
  }
  let complete = header.complete === true;
  let completedAt = header.completedAt;
  for (const entry of parsed.slice(1) as Entry[]) {
    if ('complete' in entry && entry.complete) {
      complete = true;
      completedAt = entry.completedAt;
    }
  }
  return runOf(header, complete, completedAt);
}

/** Starts a run: its header is on disk before anything is bought. */
export async function startRun(
  file: string,
  batchId: string,
  csvDigest: string,
): Promise<BatchRun> {
  await writePrivate(file, `${JSON.stringify({ batchId, csvDigest } satisfies Header)}\n`);
  return runOf({ batchId, csvDigest }, false);
}

/** Appends one line to the journal. */
export async function note(file: string, entry: Entry): Promise<void> {
  await appendFile(file, `${JSON.stringify(entry)}\n`, { mode: 0o600 });
}
