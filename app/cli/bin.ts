/**
 * @module app/cli/bin
 * The `vpm` program's entry (built to dist/cli.mjs, which bin/vpm.mjs runs): one command line,
 * its exit code. The desktop app runs the same commands through runVpm (electron/cli-mode.ts).
 */
import { runVpm } from './index';

process.exitCode = await runVpm(process.argv.slice(2));
