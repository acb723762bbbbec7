/**
 * @module function/sign-on-throttle
 * Slows password guessing at sign-on (patent part 40's front door) without letting a stranger
 * lock the real user out. Failures are counted per source address and user name, and per source
 * over all user names. After a few free failures the source waits before its next try, twice as
 * long after each further failure (429 with Retry-After). A source that never failed for an
 * account is never held back for it, so the owner still signs on from elsewhere; an account under
 * attack from many sources gives each of them fewer free tries. Known and unknown user names are
 * counted alike, so the throttle tells nothing about which names exist.
 */
import { LRUCache } from 'lru-cache';

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

interface Entry {
  failures: number;
  waitUntil: number;
}

/** What a failure did: the wait it started (0 for none) and whether the source just began waiting. */
export interface FailureOutcome {
  waitMs: number;
  startedWaiting: boolean;
  failures: number;
}

const FORGET_MS = 24 * 3600_000;

export class SignOnThrottle {
  private readonly pairs = new LRUCache<string, Entry>({ max: 200_000, ttl: FORGET_MS });
  private readonly sources = new LRUCache<string, Entry>({ max: 100_000, ttl: FORGET_MS });
  private readonly accounts = new LRUCache<string, Entry>({ max: 100_000, ttl: FORGET_MS });
  private readonly freePerAccount: number;
  private readonly freePerSource: number;
  private readonly attackThreshold: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly now: () => number;

  constructor(options: SignOnThrottleOptions = {}) {
    this.freePerAccount = options.freePerAccount ?? 3;
    this.freePerSource = options.freePerSource ?? 10;
    this.attackThreshold = options.attackThreshold ?? 20;
    this.baseDelayMs = options.baseDelayMs ?? 1000;
    this.maxDelayMs = options.maxDelayMs ?? 15 * 60_000;
    this.now = options.now ?? Date.now;
  }

  /** How long this source must still wait before it may try this user name (0: go ahead). */
  waitMs(source: string, username: string): number {
    const now = this.now();
    const pair = this.pairs.get(`${source}\n${username}`);
    const all = this.sources.get(source);
    return Math.max(0, (pair?.waitUntil ?? 0) - now, (all?.waitUntil ?? 0) - now);
  }

  /** Counts a wrong password (or unknown user name) from this source. */
  fail(source: string, username: string): FailureOutcome {
    const now = this.now();
    const account = this.bump(this.accounts, username, Infinity, now);
    const free = account.failures >= this.attackThreshold ? 1 : this.freePerAccount;
    const pair = this.bump(this.pairs, `${source}\n${username}`, free, now);
    const all = this.bump(this.sources, source, this.freePerSource, now);
    const waitMs = Math.max(0, pair.waitUntil - now, all.waitUntil - now);
    return {
      waitMs,
      startedWaiting: pair.failures === free || all.failures === this.freePerSource,
      failures: pair.failures,
    };
  }

  /** The right password: this source's count for the account starts over. */
  succeed(source: string, username: string): void {
    this.pairs.delete(`${source}\n${username}`);
  }

  private bump(cache: LRUCache<string, Entry>, key: string, free: number, now: number): Entry {
    const entry = cache.get(key) ?? { failures: 0, waitUntil: 0 };
    entry.failures += 1;
    if (entry.failures >= free) {
      const doublings = Math.min(30, entry.failures - free);
      entry.waitUntil = now + Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** doublings);
    }
    cache.set(key, entry);
    return entry;
  }
}
