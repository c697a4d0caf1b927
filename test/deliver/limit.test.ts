import { describe, expect, it } from 'vitest';
import { createAdaptiveLimits, IDLE_FORGET_MS } from '../../src/deliver/limit.js';

describe('adaptive limit (AIMD)', () => {
  const make = (ceiling = 32) => {
    let t = 0;
    const limits = createAdaptiveLimits(ceiling, () => t);
    return { limits, tick: (ms: number) => (t += ms), at: () => t };
  };
  const ok = (sentAt: number, latencyMs = 10, full = true) => ({ sentAt, full, statusCode: 200, latencyMs });

  it('starts at 8 (or the ceiling) and grows by one per `limit` fast answers while full, up to the ceiling', () => {
    expect(make(4).limits.limitOf('a')).toBe(4);
    const { limits } = make(10);
    expect(limits.limitOf('a')).toBe(8);
    for (let i = 0; i < 7; i++) limits.observe('a', ok(0));
    expect(limits.limitOf('a')).toBe(8);
    limits.observe('a', ok(0));
    expect(limits.limitOf('a')).toBe(9);
    for (let i = 0; i < 100; i++) limits.observe('a', ok(0));
    expect(limits.limitOf('a')).toBe(10);
  });

  it('does not grow on answers to requests sent while the destination had room to spare', () => {
    const { limits } = make();
    for (let i = 0; i < 100; i++) limits.observe('a', ok(0, 10, false));
    expect(limits.limitOf('a')).toBe(8);
  });

  it('halves once per round trip on 429, 5xx, timeouts; never below 1', () => {
    const { limits, tick, at } = make();
    tick(100);
    const burst = at();
    tick(50);
    for (const statusCode of [503, 429, null]) limits.observe('a', { sentAt: burst, full: true, statusCode, latencyMs: 50 });
    expect(limits.limitOf('a')).toBe(4);
    tick(1);
    limits.observe('a', { sentAt: at(), full: true, statusCode: 500, latencyMs: 1 });
    expect(limits.limitOf('a')).toBe(2);
    for (let i = 0; i < 5; i++) {
      tick(1);
      limits.observe('a', { sentAt: at(), full: true, statusCode: null, latencyMs: 1 });
    }
    expect(limits.limitOf('a')).toBe(1);
    limits.observe('a', { sentAt: at(), full: true, statusCode: 404, latencyMs: 1 });
    expect(limits.limitOf('a')).toBe(1);
  });

  it('stops growing when slower than 2 × the baseline, steps down when clearly queueing', () => {
    const { limits, tick, at } = make();
    limits.observe('a', ok(at(), 20));
    for (let i = 0; i < 50; i++) limits.observe('a', ok(at(), 60)); // > 2 × 20 + 10: no growth
    expect(limits.limitOf('a')).toBe(8);
    tick(1);
    limits.observe('a', ok(at() - 1, 200)); // > 3 × 20 + 50: the app queues
    expect(limits.limitOf('a')).toBe(7);
  });

  it('forgets a destination idle for a while', () => {
    const { limits, tick, at } = make();
    limits.observe('a', { sentAt: at(), full: true, statusCode: 503, latencyMs: 1 });
    expect(limits.limitOf('a')).toBe(4);
    tick(IDLE_FORGET_MS + 1);
    limits.observe('b', ok(at()));
    expect(limits.limitOf('a')).toBe(8);
    expect(limits.limits()).toEqual([8]);
  });
});
