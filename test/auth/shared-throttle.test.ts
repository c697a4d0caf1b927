import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inMemory, SlidingWindow, type Throttle } from '../../src/auth/throttle.js';
import { openPgRepository } from '../../src/db/pg/repository.js';
import type { Repository } from '../../src/db/repository.js';
import { fakeClock } from '../helpers/deps.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

const MINUTE = 60_000;

describe('login and sign-up throttles shared through PostgreSQL', () => {
  let cluster: PgCluster;
  let nodeA: Repository;
  let nodeB: Repository;
  beforeAll(async () => {
    cluster = await startPgCluster();
    const url = await cluster.createDatabase('throttle');
    [nodeA, nodeB] = [await openPgRepository(url), await openPgRepository(url)];
  }, 120_000);
  afterAll(async () => {
    await Promise.all([nodeA?.close(), nodeB?.close()]);
    cluster?.stop();
  });

  it('what one node counts, the other sees: the limit holds across nodes', async () => {
    const clock = fakeClock();
    const o = { limit: 3, windowMs: 15 * MINUTE, now: clock.now };
    const [a, b] = [nodeA.sharedThrottle('login-ip', o)!, nodeB.sharedThrottle('login-ip', o)!];
    await a.record('203.0.113.7');
    await b.record('203.0.113.7');
    expect(await a.retryAfter('203.0.113.7')).toBe(0);
    await a.record('203.0.113.7');
    expect(await b.retryAfter('203.0.113.7')).toBe(15 * 60);
    expect(await b.retryAfter('198.51.100.1')).toBe(0); // another key
    expect(await nodeB.sharedThrottle('signup-ip', o)!.retryAfter('203.0.113.7')).toBe(0); // another throttle
    clock.advance(15 * MINUTE);
    expect(await b.retryAfter('203.0.113.7')).toBe(0); // the window slid past them
  });

  it('concurrent takes on two nodes let exactly `limit` through', async () => {
    const o = { limit: 5, windowMs: MINUTE, now: Date.now };
    const [a, b] = [nodeA.sharedThrottle('signup-ip', o)!, nodeB.sharedThrottle('signup-ip', o)!];
    const waits = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take('192.0.2.1')));
    expect(waits.filter((w) => w === 0)).toHaveLength(5);
  });

  it('answers as the in-memory window does, step for step (record, unrecord, reset, retryAfter)', async () => {
    const clock = fakeClock();
    const o = { limit: 4, windowMs: 10 * MINUTE, now: clock.now };
    const shared = nodeA.sharedThrottle('login-account', o)!;
    const memory: Throttle = inMemory(new SlidingWindow(o));
    const steps: [keyof Throttle, number][] = [
      ['take', 0], ['take', MINUTE], ['record', MINUTE], ['take', 1000], ['retryAfter', 0], ['take', 0],
      ['unrecord', 0], ['retryAfter', 0], ['take', 2 * MINUTE], ['retryAfter', 7 * MINUTE], ['reset', 0],
      ['retryAfter', 0], ['take', 0],
    ];
    for (const [op, advance] of steps) {
      clock.advance(advance);
      const [x, y] = [await shared[op]('ada@example.com'), await memory[op]('ada@example.com')];
      expect(x, `${op} after +${advance} ms`).toEqual(y);
    }
  });

  it('SQLite has no shared throttle: one process, the in-memory one is shared', async () => {
    const { testDeps } = await import('../helpers/deps.js');
    const deps = testDeps();
    try {
      const { createSqliteRepository } = await import('../../src/db/sqlite-repository.js');
      expect(createSqliteRepository(deps.db).sharedThrottle('login-ip', { limit: 1, windowMs: 1, now: Date.now })).toBeNull();
    } finally {
      deps.cleanup();
    }
  });
});
