/**
 * @module boxes/ceremony-main
 * The manufacturing box as its own short-lived process: `vpm datacenter init` runs the key
 * ceremony here, so the top-level secrets exist only in this process, which exits when the
 * boxes' NVM is written. Argument: the data directory. Exit code 0 on success; the reason on
 * stderr otherwise.
 */
import { initBoxes } from './ceremony';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('ceremony: usage: ceremony-main.ts DATA_DIR\n');
  process.exit(2);
}
try {
  await initBoxes(dir);
} catch (error) {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
}
