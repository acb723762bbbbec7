/**
 * @module cli/bin
 * The `vpm` program's entry (built to dist/cli.mjs, which bin/vpm.mjs runs): one command line,
 * its exit code. The desktop app runs the same commands through runCli (electron/cli-mode.ts).
 */
import { runCli } from './main';

process.exitCode = await runCli(process.argv.slice(2));
