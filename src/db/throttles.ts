import { SlidingWindow } from '../auth/throttle.js';

/** A throttle's rule: at most `limit` events per key in any `windowMs`. */
export interface ThrottleRule {
  name: string;
  limit: number;
  windowMs: number;
}

/**
 * The sign-in and sign-up throttles of the SQLite engine: in memory (src/auth/throttle.ts), as
 * one process needs; a restart only forgives. PostgreSQL's (src/db/pg/throttles.ts) keeps them in
 * the database, shared by every node, with the same answers.
 */
export function memoryThrottles() {
  let current = 0;
  const windows = new Map<string, SlidingWindow>();
  const window = (rule: ThrottleRule, now = current) => {
    current = now;
    let w = windows.get(rule.name);
    if (!w) windows.set(rule.name, (w = new SlidingWindow({ limit: rule.limit, windowMs: rule.windowMs, now: () => current })));
    return w;
  };
  return {
    /** Seconds until `key` may act again, or 0 when it is under its limit now. */
    retryAfter: (rule: ThrottleRule, key: string, now: number): number => window(rule, now).retryAfter(key),
    record: (rule: ThrottleRule, key: string, now: number): void => window(rule, now).record(key),
    /** Counts the event if allowed; returns the seconds to wait (0 = allowed). */
    take: (rule: ThrottleRule, key: string, now: number): number => window(rule, now).take(key),
    /** Takes back the latest event of `key` (a login that turned out to be right). */
    unrecord: (rule: ThrottleRule, key: string): void => window(rule).unrecord(key),
    reset: (rule: ThrottleRule, key: string): void => window(rule).reset(key),
  };
}
