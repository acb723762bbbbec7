// `npm test`: every check CI runs — type-check, lint, format, then all Vitest tests (unit,
// integration, browser). Each step runs even if an earlier one failed, so one run shows every
// problem; the exit code is non-zero if any step failed.
import { spawnSync } from 'node:child_process';

const steps = [
  ['type-check', 'npm', ['run', '--silent', 'typecheck']],
  ['lint', 'npm', ['run', '--silent', 'lint']],
  ['format', 'npm', ['run', '--silent', 'format:check']],
  ['tests', 'npx', ['vitest', 'run', ...process.argv.slice(2)]],
];

const failed = [];
for (const [name, command, args] of steps) {
  process.stdout.write(`\n== ${name}\n`);
  const result = spawnSync(command, args, {
    stdio: 'inherit',
    shell: process.platform === 'win32',
  });
  if (result.status !== 0) failed.push(name);
}
process.stdout.write(failed.length ? `\nFailed: ${failed.join(', ')}\n` : '\nAll checks passed.\n');
process.exit(failed.length ? 1 : 0);
