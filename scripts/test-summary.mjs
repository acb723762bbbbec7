// Prints the plain test total from Vitest's JSON report: "tests: N passed, N failed".
// A missing report (type-check or lint stopped the run first) counts as one failure.
import { readFileSync } from 'node:fs';

const file = process.argv[2] ?? 'test-results/vitest.json';
let passed = 0;
let failed = 1;
try {
  const report = JSON.parse(readFileSync(file, 'utf8'));
  passed = report.numPassedTests;
  failed = report.numFailedTests + (report.success || report.numFailedTests > 0 ? 0 : 1);
} catch {
  console.error(`no test report at ${file}: the run stopped before the tests (see above)`);
}
console.log(`tests: ${passed} passed, ${failed} failed`);
