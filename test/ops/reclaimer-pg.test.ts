import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LEASE_EXPIRED } from '../../src/db/deliveries.js';
import { openPgRepository } from '../../src/db/pg/repository.js';
import type { Repository } from '../../src/db/repository.js';
import { createLogger } from '../../src/log.js';
import { startReclaimer } from '../../src/ops/reclaimer.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

const log = createLogger('silent');

describe('the lease reclaimer on PostgreSQL', () => {
  let cluster: PgCluster;
  let url: string;
  let nodeA: Repository;
  let nodeB: Repository;
  beforeAll(async () => {
    cluster = await startPgCluster();
    url = await cluster.createDatabase('reclaimer');
    [nodeA, nodeB] = [await openPgRepository(url), await openPgRepository(url)];
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    await db.query(`INSERT INTO users (id, email, created_at) VALUES ('usr_1', 'a@a.test', 0)`);
    await db.query(`INSERT INTO domains (id, user_id, name, status, verification_token, created_at) VALUES ('dom_1', 'usr_1', 'a.test', 'verified', 't', 0)`);
    await db.query(`INSERT INTO messages (id, user_id, domain_id, mail_from, rcpt_to, helo, remote_ip, tls, size, raw_key, parsed, received_at)
      VALUES ('msg_1', 'usr_1', 'dom_1', '', '[]', '', '', 0, 0, 'raw', '{}', 0)`);
    await db.query(`INSERT INTO deliveries (id, user_id, message_id, domain_id, url, secret, dest, status, attempts, next_attempt_at, created_at, updated_at)
      SELECT 'dlv_' || g, 'usr_1', 'msg_1', 'dom_1', 'http://h.test/x', 's', 'http://h.test', 'pending', 0, 0, 0, 0 FROM generate_series(1, 2) g`);
    await db.end();
  }, 120_000);
  afterAll(async () => {
    await Promise.all([nodeA?.close(), nodeB?.close()]);
    cluster?.stop();
  });

  it('closes a dead node’s attempt once its lease ran out, and leaves a live lease alone', async () => {
    const t0 = 1_000_000;
    // Node A claims both: dlv_1 with a lease that has ended by `now` below, dlv_2 with one that has not.
    await nodeA.deliveries.claim(['dlv_1'], t0, t0 + 40_000);
    await nodeA.deliveries.claim(['dlv_2'], t0, t0 + 400_000);
    const reclaimer = startReclaimer(nodeB, { holder: 'node-b', now: () => t0 + 60_000, log });
    try {
      const deadline = Date.now() + 10_000;
      while ((await nodeB.deliveries.attempts('dlv_1'))[0]?.finishedAt === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const [dead] = await nodeB.deliveries.attempts('dlv_1');
      expect(dead).toMatchObject({ finishedAt: t0 + 60_000, error: LEASE_EXPIRED });
      const [live] = await nodeB.deliveries.attempts('dlv_2');
      expect(live!.finishedAt).toBeNull();
      expect(reclaimer.holding()).toBe(true);
    } finally {
      await reclaimer.stop();
    }
  });
});
