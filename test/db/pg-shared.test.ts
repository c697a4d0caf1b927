import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lazyPgRepository } from '../../src/db/pg/lazy.js';
import { pgLeases } from '../../src/db/pg/leases.js';
import { migratePg } from '../../src/db/pg/migrate.js';
import { openPg, poolDb } from '../../src/db/pg/pool.js';
import { createPgRepository } from '../../src/db/pg/repository.js';
import { pgThrottles } from '../../src/db/pg/throttles.js';
import { listenWakeups, type WakeKind } from '../../src/db/pg/wake.js';
import { newId } from '../../src/ids.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

/** What several nodes share on PostgreSQL beyond the rows (DESIGN §10): singleton leases, throttles, wake-ups. */
let cluster: PgCluster;
let url: string;
beforeAll(async () => {
  cluster = await startPgCluster();
  url = await cluster.createDatabase('shared');
  const pool = openPg(url);
  await migratePg(pool);
  await pool.end();
}, 120_000);
afterAll(() => cluster?.stop());

describe('PostgreSQL: what nodes share', () => {
  it('the repository createDeps builds fails start-up (ready) and every call with the connection error when DATABASE_URL is wrong', async () => {
    const repo = lazyPgRepository(cluster.url('no_such_database'));
    await expect(repo.ready).rejects.toThrow(/no_such_database/);
    await expect(repo.users.get('usr_x')).rejects.toThrow(/no_such_database/);
    await expect(repo.ping()).rejects.toThrow(/no_such_database/);
    await repo.close();
  });

  it('a singleton lease has one holder; it renews; another node takes it over only once it expired, or after release', async () => {
    const [a, b] = [openPg(url), openPg(url)];
    try {
      const [la, lb] = [pgLeases(poolDb(a)), pgLeases(poolDb(b))];
      const t = 1_000_000;
      const first = await Promise.all([la.acquire('sweeper', 'node-a', t, 30_000), lb.acquire('sweeper', 'node-b', t, 30_000)]);
      expect(first.filter(Boolean)).toHaveLength(1);
      const [holder, other] = first[0] ? [la, lb] : [lb, la];
      const [holderName, otherName] = first[0] ? ['node-a', 'node-b'] : ['node-b', 'node-a'];
      expect(await holder.acquire('sweeper', holderName, t + 20_000, 30_000)).toBe(true); // renewed until t + 50 s
      expect(await other.acquire('sweeper', otherName, t + 40_000, 30_000)).toBe(false);
      expect(await other.holder('sweeper', t + 40_000)).toBe(holderName);
      expect(await other.acquire('sweeper', otherName, t + 50_000, 30_000)).toBe(true); // the holder died
      expect(await holder.acquire('sweeper', holderName, t + 50_001, 30_000)).toBe(false);
      expect(await other.release('sweeper', otherName)).toBe(true);
      expect(await holder.acquire('sweeper', holderName, t + 50_002, 30_000)).toBe(true);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('a login throttle is shared: two nodes together allow the limit once, not once each', async () => {
    const [a, b] = [openPg(url), openPg(url)];
    try {
      let now = 5_000_000;
      const rule = { name: 'login-ip', limit: 5, windowMs: 60_000 };
      const [ta, tb] = [pgThrottles(poolDb(a)), pgThrottles(poolDb(b))];
      const waits = await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? ta : tb).take(rule, '203.0.113.7', now)));
      expect(waits.filter((w) => w === 0)).toHaveLength(5);
      expect(Math.min(...waits.filter((w) => w > 0))).toBe(60);
      expect(await tb.retryAfter(rule, '198.51.100.1', now)).toBe(0); // another key
      await ta.unrecord(rule, '203.0.113.7');
      expect(await tb.retryAfter(rule, '203.0.113.7', now)).toBe(0);
      now += 61_000;
      expect(await ta.count(rule, '203.0.113.7', now)).toBe(0);
      expect(await ta.prune(rule, now)).toBe(4);
      await tb.record(rule, '203.0.113.7', now);
      await ta.reset(rule, '203.0.113.7');
      expect(await tb.count(rule, '203.0.113.7', now)).toBe(0);
    } finally {
      await Promise.all([a.end(), b.end()]);
    }
  });

  it('storing mail wakes the other nodes at commit (LISTEN/NOTIFY); a rolled-back store wakes nobody', async () => {
    const heard: WakeKind[] = [];
    const listener = listenWakeups(url, (k) => heard.push(k));
    const repo = createPgRepository(openPg(url));
    try {
      await listener.ready;
      const u = await repo.users.insert({ id: newId('usr'), email: 'wake@example.test', passwordHash: null, googleSub: null, createdAt: 1 });
      const d = { id: newId('dom'), userId: u.id, name: 'wake.test', status: 'pending' as const, verificationToken: 't', verifiedAt: null, webhookUrl: null, webhookSecret: null, createdAt: 1 };
      await repo.domains.insert(d);
      const copyOf = (id: string) => ({
        message: {
          id, userId: u.id, domainId: d.id, envelope: { mailFrom: '', rcptTo: ['a@wake.test'], helo: 'h', remoteIp: '192.0.2.1', tls: false },
          parsed: { from: { address: '', name: '' }, to: [], cc: [], replyTo: [], subject: '', date: 0, messageId: '', inReplyTo: '', references: [], headers: [], text: '', html: '', attachments: [] },
          auth: {}, size: 1, rawKey: `msg/${id}/raw.eml`, parseError: null, receivedAt: 1, purgedAt: null,
        },
        attachments: [], inlineBlobs: [], recipients: [{ address: 'a@wake.test', domainId: d.id }], forwards: [],
        deliveries: [{ id: newId('dlv'), userId: u.id, messageId: id, routeId: null, domainId: d.id, url: 'https://h.test/x', secret: 's' }],
      });
      const m1 = newId('msg');
      await expect(repo.storeInbound([copyOf(m1), copyOf(m1)], 1)).rejects.toThrow(); // duplicate: rolled back
      await repo.storeInbound([copyOf(newId('msg'))], 1);
      await expect.poll(() => heard, { timeout: 10_000 }).toEqual(['deliveries']);
    } finally {
      await listener.stop();
      await repo.close();
    }
  });
});
