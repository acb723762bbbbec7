/**
 * Test harness entry of a box process: turns on the test-only behaviours from the environment
 * (VPM_BOX_CLOCK=<ISO time> pins the clock, VPM_BOX_FORCE_SELFTEST_FAIL=<algorithm> fails one
 * known-answer test, VPM_BOX_TEST_PAUSE=before-commit|after-commit stops before answering, VPM_BOX_COMPACT_BYTES=<n>
 * compacts the NVM log past n bytes), then
 * runs the real box-main. Tests start it by passing TEST_BOX_ENTRY (test/helpers/boxes.ts) as
 * `entry` to startBoxes; a production start never runs this file, so the environment cannot
 * switch these on there.
 */
import { testHooks } from '../../server-mock/boxes/box-hooks';

const pause = process.env.VPM_BOX_TEST_PAUSE;
testHooks.clock = process.env.VPM_BOX_CLOCK || undefined;
testHooks.forceSelfTestFail = process.env.VPM_BOX_FORCE_SELFTEST_FAIL || undefined;
testHooks.pause = pause === 'before-commit' || pause === 'after-commit' ? pause : undefined;
const compactBytes = Number(process.env.VPM_BOX_COMPACT_BYTES);
testHooks.compactBytes =
  Number.isSafeInteger(compactBytes) && compactBytes > 0 ? compactBytes : undefined;

await import('../../server-mock/boxes/box-main');
