import { describe, expect, it } from 'vitest';
import { SlidingWindow } from '../../src/auth/throttle.js';
import { fakeClock } from '../helpers/deps.js';

describe('SlidingWindow', () => {
  it('allows `limit` events per window and says when the next is allowed', () => {
    const clock = fakeClock();
    const w = new SlidingWindow({ limit: 3, windowMs: 10_000, now: clock.now });
    expect(w.take('k')).toBe(0);
    clock.advance(2000);
    expect(w.take('k')).toBe(0);
    expect(w.take('k')).toBe(0);
    expect(w.take('k')).toBe(8); // the first event (2 s ago) leaves the 10 s window in 8 s
    clock.advance(7999);
    expect(w.retryAfter('k')).toBe(1);
    clock.advance(1);
    expect(w.take('k')).toBe(0);
    expect(w.take('other')).toBe(0);
  });

  it('reset and unrecord forgive', () => {
    const clock = fakeClock();
    const w = new SlidingWindow({ limit: 2, windowMs: 1000, now: clock.now });
    w.record('k');
    w.record('k');
    expect(w.retryAfter('k')).toBe(1);
    w.unrecord('k');
    expect(w.retryAfter('k')).toBe(0);
    w.record('k');
    w.reset('k');
    expect(w.retryAfter('k')).toBe(0);
  });

  it('bounds memory: keys beyond maxKeys evict the oldest', () => {
    const clock = fakeClock();
    const w = new SlidingWindow({ limit: 1, windowMs: 60_000, now: clock.now, maxKeys: 3 });
    for (const k of ['a', 'b', 'c', 'd']) w.record(k);
    expect(w.retryAfter('a')).toBe(0);
    expect(w.retryAfter('d')).toBe(60);
  });
});
