import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPgRepository } from '../../src/db/pg/repository.js';
import type { Repository } from '../../src/db/repository.js';
import { createLogger } from '../../src/log.js';
import { startSingleton, type LeaseStore, type Singleton } from '../../src/ops/singleton.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

const log = createLogger('silent');
const LEASE_MS = 1200;

async function until(ready: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A node's view of the lease rows that the test can cut off, as if the node died: it renews nothing after. */
function mortal(repos: LeaseStore) {
  let dead = false;
  let lastRenewal = 0;
  const store: LeaseStore = {
    async acquire(name, holder, now, ttlMs) {
      if (dead) throw new Error('this node is dead');
      const held = await repos.acquire(name, holder, now, ttlMs);
      if (held) lastRenewal = now;
      return held;
    },
    release: (name, holder) => (dead ? Promise.resolve() : repos.release(name, holder)),
  };
  return { store, die: () => (dead = true), lastRenewal: () => lastRenewal };
}

describe('singletons on PostgreSQL: one lease row, one node runs it', () => {
  let cluster: PgCluster;
  const repos: Repository[] = [];
  const singletons: Singleton[] = [];

  beforeAll(async () => {
    cluster = await startPgCluster();
    const url = await cluster.createDatabase('singleton');
    for (let i = 0; i < 3; i++) repos.push(await openPgRepository(url));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(singletons.map((s) => s.stop()));
    await Promise.all(repos.map((r) => r.close()));
    cluster?.stop();
  });

  it('runs on one node only; another takes over when the holder dies, not before its lease ends; a clean stop hands over at once', { timeout: 60_000 }, async () => {
    const runs: { node: string; at: number }[] = [];
    const start = (node: string, store: LeaseStore) => {
      const s = startSingleton(store, { name: 'sweeper', holder: node, everyMs: 100, leaseMs: LEASE_MS, now: Date.now, log }, async () => {
        runs.push({ node, at: Date.now() });
      });
      singletons.push(s);
      return s;
    };
    const a = mortal(repos[0]!.leases);
    start('node-a', a.store);
    await until(() => runs.some((r) => r.node === 'node-a'), 'node A runs');
    const b = start('node-b', repos[1]!.leases);
    await new Promise((r) => setTimeout(r, 3 * LEASE_MS));
    expect(runs.filter((r) => r.node !== 'node-a')).toEqual([]);
    expect(b.holding()).toBe(false);

    a.die();
    const diedAfter = a.lastRenewal();
    await until(() => runs.some((r) => r.node === 'node-b'), 'node B takes over');
    const firstB = runs.find((r) => r.node === 'node-b')!.at;
    expect(firstB).toBeGreaterThanOrEqual(diedAfter + LEASE_MS);
    // Once B holds it, A (had it come back) and C find it taken.
    const c = start('node-c', repos[2]!.leases);
    await new Promise((r) => setTimeout(r, 2 * LEASE_MS));
    expect(c.holding()).toBe(false);
    expect(runs.filter((r) => r.node === 'node-c')).toEqual([]);

    // B stops cleanly: its lease is released and C takes over well before a lease would expire.
    const stoppedAt = Date.now();
    await b.stop();
    await until(() => runs.some((r) => r.node === 'node-c'), 'node C takes over');
    expect(runs.find((r) => r.node === 'node-c')!.at - stoppedAt).toBeLessThan(LEASE_MS);
    // Never two holders at once: the runs alternate A…, B…, C… without interleaving.
    const order = runs.map((r) => r.node).filter((n, i, all) => i === 0 || all[i - 1] !== n);
    expect(order).toEqual(['node-a', 'node-b', 'node-c']);
  });
});
