const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * Wait before retry n (index n-1) after the n-th failed attempt. DESIGN §6 asks for at least
 * 3 days of retries; the ten steps it lists add up to only 2 d 22 h 42 m, and 2 d 8 h 34 m
 * after -20 % jitter, so a third 24 h step is appended: the worst case (every delay jittered down)
 * is 3 d 3 h 46 m. 12 attempts in all: the first plus one per step.
 */
export const RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  30 * SECOND,
  2 * MINUTE,
  10 * MINUTE,
  30 * MINUTE,
  1 * HOUR,
  3 * HOUR,
  6 * HOUR,
  12 * HOUR,
  24 * HOUR,
  24 * HOUR,
  24 * HOUR,
]);

/** ±20 %: spreads the retries of a burst that failed together, so they don't return together. */
export const JITTER = 0.2;

/**
 * The most a receiver can push a retry out with Retry-After. A Retry-After can only lengthen
 * the wait, never shorten it below the (jittered) schedule: a receiver answering
 * `Retry-After: 0` must not turn the queue into a tight loop against itself. And it is capped
 * at 24 h, the longest step of the schedule, so a receiver cannot park a delivery forever.
 */
export const MAX_RETRY_AFTER_MS = 24 * HOUR;

/**
 * Parses Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date. Returns the delay in
 * ms (0 for a date in the past), or null when absent or unreadable.
 */
export function parseRetryAfter(header: string | null | undefined, now: number): number | null {
  const v = header?.trim();
  if (!v) return null;
  if (/^\d+$/.test(v)) return Math.min(Number(v) * SECOND, Number.MAX_SAFE_INTEGER);
  if (!/[a-z]/i.test(v)) return null; // Date.parse accepts bare numbers like "1.5"; an HTTP-date has a month name
  const at = Date.parse(v);
  return Number.isNaN(at) ? null : Math.max(0, at - now);
}

/**
 * The wait after failed attempt number `attemptsMade` of any retry schedule, jittered by ±JITTER;
 * null once the schedule is spent. Shared by the webhook queue and the outbound mail queue.
 */
export function scheduledDelay(schedule: readonly number[], attemptsMade: number, random: () => number = Math.random): number | null {
  const base = schedule[attemptsMade - 1];
  if (attemptsMade < 1 || base === undefined) return null;
  return Math.round(base * (1 + JITTER * (2 * random() - 1)));
}

/**
 * How long to wait after attempt number `attemptsMade` (1 = the first attempt) failed, in ms;
 * null when the schedule is spent and the delivery is to be marked failed.
 * `random` returns [0, 1), like Math.random; tests inject their own.
 */
export function nextAttemptDelay(
  attemptsMade: number,
  retryAfter: string | null = null,
  random: () => number = Math.random,
  now: number = Date.now(),
): number | null {
  const jittered = scheduledDelay(RETRY_SCHEDULE_MS, attemptsMade, random);
  if (jittered === null) return null;
  const asked = parseRetryAfter(retryAfter, now);
  return asked === null ? jittered : Math.max(jittered, Math.min(asked, MAX_RETRY_AFTER_MS));
}
