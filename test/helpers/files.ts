/**
 * @module test/helpers/files
 * The files under a directory, for tests that look through a data directory as an operator with
 * file access would.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Every regular file under `dir`, at any depth. */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((name) => join(dir, name))
    .filter((path) => statSync(path).isFile());
}
