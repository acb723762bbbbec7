#!/usr/bin/env node
// The `vpm` command: runs the built CLI (dist/cli.mjs, made by `npm run build`, which `npm ci` runs).
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli.mjs', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'vpm: dist/cli.mjs is missing: run `npm run build` (npm ci runs it) first\n',
  );
  process.exit(2);
}
await import(cli.href);
