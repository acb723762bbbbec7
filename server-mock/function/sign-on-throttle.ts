/**
 * @module function/sign-on-throttle
 * Slows password guessing at sign-on (patent part 40's front door) without letting a stranger
 * lock the real user out. Failures are counted per source address and user name, and per source
 * over all user names. After a few free failures the source waits before its next try, twice as
 * long after each further failure (429 with Retry-After). A source that never failed for an
 * account is never held back for it, so the owner still signs on from elsewhere; an account under
 * attack from many sources gives each of them fewer free tries. Known and unknown user names are
 * counted alike, so the throttle tells nothing about which names exist. The counts live in the
 * data center's database, shared by all its nodes: a guesser gains nothing by changing nodes or
 * by waiting for a restart.
 */
import type { SignOnFailures, Storage } from '../storage/storage';

export interface SignOnThrottleOptions {
  /** Failures a source may make for one user name before it waits. */
  freePerAccount?: number;
  /** Failures a source may make over all user names before it waits. */
  freePerSource?: number;
  /** Failures over all sources that put an account under attack: each source then gets one free try. */
  attackThreshold?: number;
  /** The first wait; each further failure doubles it. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  now?: () => number;
}

/** What a failure did: the wait it started (0 for none) and whether the source just began waiting. */
export interface FailureOutcome {
  waitMs: number;
  startedWaiting: boolean;
  failures: number;
}

/** A count not moved for this long is forgotten. */
const FORGET_MS = 24 * 3600_000;

/** The storage the counts live in: one table every node of the data center shares. */
type Counts = Pick<Storage, 'signOnFailures' | 'addSignOnFailures' | 'clearSignOnFailures'>;

/** What a sign-on learns before it checks the password (SignOnThrottle.check). */
export interface SignOnGate {
  waitMs: number;
  /** This source has failures counted against the user name. */
  counted: boolean;
}

const pairKey = (source: string, username: string) => `pair\n${source}\n${username}`;
const sourceKey = (source: string) => `source\n${source}`;
const accountKey = (username: string) => `account\n${username}`;

export class SignOnThrottle {
  private readonly freePerAccount: number;
  private readonly freePerSource: number;
  private readonly attackThreshold: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;

  /**
   * `counts`: the data center's storage. The counts are kept there, not in this process, so that
   * every node of the data center holds a source to the same waits, and a restart forgets none.
   */
  constructor(
    private readonly counts: Counts,
    options: SignOnThrottleOptions = {},
  ) {
    this.freePerAccount = options.freePerAccount ?? 3;
    this.freePerSource = options.freePerSource ?? 10;
    this.attackThreshold = options.attackThreshold ?? 20;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /**
   * Before a sign-on: how long this source must still wait (0: go ahead), and whether it has
   * failures counted against this user name that the right password would clear (succeed).
   */
  async check(source: string, username: string): Promise<SignOnGate> {
    const now = this.now();
    const [pair, all, account] = await this.counts.signOnFailures(
      [pairKey(source, username), sourceKey(source), accountKey(username)],
      now - FORGET_MS,
    );
    return {
      waitMs: Math.max(
        0,
        this.waitUntil(pair, this.freeFor(account)) - now,
        this.waitUntil(all, this.freePerSource) - now,
      ),
      counted: (pair?.failures ?? 0) > 0,
    };
  }

  /** Counts a wrong password (or unknown user name) from this source. */
  async fail(source: string, username: string): Promise<FailureOutcome> {
    const now = this.now();
    const [account, pair, all] = (await this.counts.addSignOnFailures(
      [accountKey(username), pairKey(source, username), sourceKey(source)],
      now,
      now - FORGET_MS,
    )) as [SignOnFailures, SignOnFailures, SignOnFailures];
    const free = this.freeFor(account);
    return {
      waitMs: Math.max(
        0,
        this.waitUntil(pair, free) - now,
        this.waitUntil(all, this.freePerSource) - now,
      ),
      startedWaiting: pair.failures === free || all.failures === this.freePerSource,
      failures: pair.failures,
    };
  }

  /**
   * The right password: this source's count for the account starts over. Given the sign-on's
   * check, nothing is written when it found no count to clear (the usual sign-on).
   */
  async succeed(source: string, username: string, gate?: SignOnGate): Promise<void> {
    if (gate && !gate.counted) return;
    await this.counts.clearSignOnFailures(pairKey(source, username));
  }

  /** A source's free failures for an account: one once the account is under attack. */
  private freeFor(account: SignOnFailures | undefined): number {
    return (account?.failures ?? 0) >= this.attackThreshold ? 1 : this.freePerAccount;
  }

  /** The end of the wait a count started: after `free` failures, doubling with each further one. */
  private waitUntil(count: SignOnFailures | undefined, free: number): number {
    if (!count || count.failures < free) return 0;
    const doublings = Math.min(30, count.failures - free);
    return count.lastAt + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** doublings);
  }
}
