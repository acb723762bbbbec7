/**
 * @module boxes/box-hooks
 * Test-only behaviours of a box process (a pinned clock, a forced self-test failure, a pause
 * before answering so a test can kill -9 the box). They are empty in production: no environment
 * variable reaches them. Only the test harness entry (test/helpers/box-test-main.ts) fills them,
 * before it loads box-main.ts; startBoxes runs that entry only when test code passes it as
 * `entry`.
 */
export interface BoxTestHooks {
  /** ISO time the box's clock is pinned to. */
  clock?: string;
  /** A known-answer test forced to fail. */
  forceSelfTestFail?: string;
  /** Where the box stops instead of answering. */
  pause?: 'before-commit' | 'after-commit';
  /** The NVM log's size that starts a compaction (small, so a test kills the box during one). */
  compactBytes?: number;
}

export const testHooks: BoxTestHooks = {};
