// Prints the plain test total from Vitest's JSON report: "tests: N passed, N failed" (skipped
// tests count as failed).
// A failed type-check, lint or format step (exit status in argv[3]) counts as one more failure,
// and so does a missing report.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
const status = Number(process.argv[3] ?? 0);
let passed = 0;
let failed = 0;
try {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed = report.numPassedTests;
  // A skipped or to-do test is a failure too: every test must run.
  const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
  failed = report.numFailedTests + skipped + (report.success || report.numFailedTests > 0 ? 0 : 1);
} catch {
  console.error(`no test report at ${file}: the run stopped before the tests (see above)`);
  failed = 1;
}
if (status !== 0 && failed === 0) failed = 1; // a check outside Vitest failed (see "Failed:" above)
console.log(`tests: ${passed} passed, ${failed} failed`);
