import { describe, expect, it } from 'vitest';
import { MAX_RETRY_AFTER_MS, nextAttemptDelay, parseRetryAfter, RETRY_SCHEDULE_MS } from '../../src/deliver/schedule.js';

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0);
const low = () => 0; // the most negative jitter
const high = () => 0.999999; // the most positive jitter
const mid = () => 0.5; // no jitter
const MIN = 60_000;
const HOUR = 60 * MIN;

describe('retry schedule', () => {
  it('starts at 30 s, 2 m, 10 m and ends with 24 h steps', () => {
    expect(nextAttemptDelay(1, null, mid, NOW)).toBe(30_000);
    expect(nextAttemptDelay(2, null, mid, NOW)).toBe(2 * MIN);
    expect(nextAttemptDelay(3, null, mid, NOW)).toBe(10 * MIN);
    expect(nextAttemptDelay(RETRY_SCHEDULE_MS.length, null, mid, NOW)).toBe(24 * HOUR);
  });

  it('retries for at least 3 days even when every delay is jittered down', () => {
    let total = 0;
    for (let n = 1; ; n++) {
      const d = nextAttemptDelay(n, null, low, NOW);
      if (d === null) break;
      total += d;
    }
    expect(total).toBeGreaterThanOrEqual(3 * 24 * HOUR);
  });

  it('is spent after the last step: null means mark the delivery failed', () => {
    expect(nextAttemptDelay(RETRY_SCHEDULE_MS.length + 1, null, mid, NOW)).toBeNull();
    expect(nextAttemptDelay(RETRY_SCHEDULE_MS.length + 1, '60', mid, NOW)).toBeNull();
    expect(nextAttemptDelay(0, null, mid, NOW)).toBeNull();
  });

  it('jitters within ±20 %', () => {
    expect(nextAttemptDelay(1, null, low, NOW)).toBe(24_000);
    expect(nextAttemptDelay(1, null, high, NOW)).toBeCloseTo(36_000, -1);
    for (let i = 0; i < 200; i++) {
      const d = nextAttemptDelay(5, null, Math.random, NOW)!;
      expect(d).toBeGreaterThanOrEqual(0.8 * HOUR);
      expect(d).toBeLessThanOrEqual(1.2 * HOUR);
    }
  });

  it('honours Retry-After in seconds when it asks for longer than the schedule', () => {
    expect(nextAttemptDelay(1, '3600', mid, NOW)).toBe(HOUR);
  });

  it('honours Retry-After as an HTTP date', () => {
    const at = new Date(NOW + 2 * HOUR).toUTCString();
    expect(nextAttemptDelay(1, at, mid, NOW)).toBe(2 * HOUR);
  });

  it('never lets Retry-After shorten the schedule (Retry-After: 0 is not a tight loop)', () => {
    expect(nextAttemptDelay(3, '0', mid, NOW)).toBe(10 * MIN);
    expect(nextAttemptDelay(3, '5', mid, NOW)).toBe(10 * MIN);
    expect(nextAttemptDelay(3, new Date(NOW - HOUR).toUTCString(), mid, NOW)).toBe(10 * MIN);
  });

  it('caps Retry-After at 24 h', () => {
    expect(nextAttemptDelay(1, String(30 * 24 * 3600), mid, NOW)).toBe(MAX_RETRY_AFTER_MS);
    expect(nextAttemptDelay(1, '99999999999999999999999', mid, NOW)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('ignores an unreadable Retry-After', () => {
    for (const v of ['soon', '1.5', '-5', '', '  ']) expect(nextAttemptDelay(1, v, mid, NOW)).toBe(30_000);
    expect(parseRetryAfter('1.5', NOW)).toBeNull();
    expect(parseRetryAfter(undefined, NOW)).toBeNull();
  });
});
