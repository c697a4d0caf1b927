import { JITTER } from '../deliver/schedule.js';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

/**
 * Retries of a temporarily refused recipient: quick at first (greylisting answers 4xx once and
 * accepts minutes later), then spreading out, for at least 5 days: RFC 5321 §4.5.4.1 asks for
 * "at least 4-5 days". Worst case (every step jittered down by 20 %) is 5 d 1 h 5 m; 19
 * attempts in all.
 */
export const SMTP_RETRY_SCHEDULE_MS: readonly number[] = Object.freeze([
  1 * MINUTE,
  5 * MINUTE,
  15 * MINUTE,
  1 * HOUR,
  2 * HOUR,
  4 * HOUR,
  ...Array<number>(12).fill(12 * HOUR),
]);

export const SMTP_RETRY_TOTAL_MS = SMTP_RETRY_SCHEDULE_MS.reduce((a, b) => a + b, 0);
export const SMTP_RETRY_WORST_CASE_MS = SMTP_RETRY_TOTAL_MS * (1 - JITTER);
