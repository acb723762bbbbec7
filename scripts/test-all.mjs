// `npm test`: everything CI checks, on a fresh Debian machine too. First the set-up
// (scripts/test-system.mjs: as root it installs the missing system packages and starts CUPS with
// the PDF queue; otherwise it names the command that provides what is missing), then the build,
// type-check, lint, format, and all Vitest tests (unit, integration, browser). Each step runs even
// if an earlier one failed, so one run shows every problem; a skipped test counts as a failure.
// The exit code is non-zero if any step failed.
import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { prepareSystem } from './test-system.mjs';

const REPORT = 'test-results/vitest.json';
const failed = [];

process.stdout.write('\n== set-up\n');
const problems = prepareSystem();
for (const problem of problems) process.stdout.write(`test set-up: ${problem}\n`);
if (problems.length) failed.push('set-up');

const steps = [
  ['build', 'npm', ['run', '--silent', 'build']],
  ['type-check', 'npm', ['run', '--silent', 'typecheck']],
  ['lint', 'npm', ['run', '--silent', 'lint']],
  ['format', 'npm', ['run', '--silent', 'format:check']],
  ['tests', 'npx', ['vitest', 'run', ...process.argv.slice(2)]],
];
rmSync(REPORT, { force: true });
for (const [name, command, args] of steps) {
  process.stdout.write(`\n== ${name}\n`);
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (result.status !== 0) failed.push(name);
}

// No test is skipped silently: a skipped or to-do test fails the run.
try {
  const report = JSON.parse(readFileSync(REPORT, 'utf8'));
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  if (skipped > 0) {
    process.stdout.write(`\n${skipped} test(s) skipped: every test must run (see above)\n`);
    if (!failed.includes('tests')) failed.push('tests (skipped)');
  }
} catch {
  // no report: the tests step failed already
}
process.stdout.write(failed.length ? `\nFailed: ${failed.join(', ')}\n` : '\nAll checks passed.\n');
process.exit(failed.length ? 1 : 0);
