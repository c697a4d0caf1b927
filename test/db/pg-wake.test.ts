import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgWake } from '../../src/db/pg/wake.js';
import type { Wake, WakeTopic } from '../../src/db/wake.js';
import { createLogger } from '../../src/log.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

const log = createLogger('silent');

/** Resolves with how many times `topic` woke `w` once it has at least `n`; rejects after 10 s. */
function wakes(w: Wake, topic: WakeTopic) {
  let count = 0;
  const waiters: (() => void)[] = [];
  w.on(topic, () => {
    count++;
    waiters.splice(0).forEach((f) => f());
  });
  return {
    count: () => count,
    async atLeast(n: number) {
      const deadline = Date.now() + 10_000;
      while (count < n) {
        if (Date.now() > deadline) throw new Error(`${topic}: ${count} wake-ups, wanted ${n}`);
        await new Promise<void>((r) => (waiters.push(r), setTimeout(r, 100)));
      }
    },
  };
}

describe('wake-ups between nodes (LISTEN/NOTIFY)', () => {
  let cluster: PgCluster;
  let url: string;
  const open: Wake[] = [];
  const node = () => {
    const w = pgWake(url, log);
    open.push(w);
    return w;
  };

  beforeAll(async () => {
    cluster = await startPgCluster();
    url = await cluster.createDatabase('wake');
  }, 120_000);
  afterAll(async () => {
    await Promise.all(open.map((w) => w.close()));
    cluster?.stop();
  });

  it('a notify on one node wakes the listeners of that topic on the others, and only that topic', async () => {
    const [a, b, c] = [node(), node(), node()];
    const bDeliveries = wakes(b, 'deliveries');
    const cDeliveries = wakes(c, 'deliveries');
    const cSends = wakes(c, 'sends');
    await new Promise((r) => setTimeout(r, 500)); // the listeners' LISTEN is asynchronous
    a.notify('deliveries');
    await bDeliveries.atLeast(1);
    await cDeliveries.atLeast(1);
    expect(cSends.count()).toBe(0);
    a.notify('sends');
    await cSends.atLeast(1);
  });

  it('a burst of notifies is coalesced into a few', async () => {
    const [a, b] = [node(), node()];
    const got = wakes(b, 'deliveries');
    await new Promise((r) => setTimeout(r, 500));
    for (let i = 0; i < 200; i++) a.notify('deliveries');
    await got.atLeast(1);
    await new Promise((r) => setTimeout(r, 500));
    // At most one in flight plus one queued behind it: far fewer than 200, at least the first.
    expect(got.count()).toBeGreaterThanOrEqual(1);
    expect(got.count()).toBeLessThanOrEqual(3);
  });

  it('a listener whose connection is cut listens again; polling covers the gap', { timeout: 30_000 }, async () => {
    const [a, b] = [node(), node()];
    const got = wakes(b, 'deliveries');
    await new Promise((r) => setTimeout(r, 500));
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN mailhook_wake' AND pid <> pg_backend_pid()`);
    await client.end();
    // Reconnects after 2 s; keep notifying until it hears one.
    const deadline = Date.now() + 20_000;
    while (got.count() === 0 && Date.now() < deadline) {
      a.notify('deliveries');
      await new Promise((r) => setTimeout(r, 300));
    }
    expect(got.count()).toBeGreaterThanOrEqual(1);
  });
});
