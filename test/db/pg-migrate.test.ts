import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migratePg } from '../../src/db/pg/migrate.js';
import { openPg } from '../../src/db/pg/pool.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

let cluster: PgCluster;
beforeAll(async () => {
  cluster = await startPgCluster();
}, 120_000);
afterAll(() => cluster?.stop());

describe('PostgreSQL migrations (schema.pg.sql under pg_advisory_lock)', () => {
  it('4 nodes starting at once on an empty database: exactly one applies the schema, none fails', async () => {
    const url = await cluster.createDatabase('migrate4');
    const pools = Array.from({ length: 4 }, () => openPg(url, { max: 1 }));
    try {
      const applied = await Promise.all(pools.map((p) => migratePg(p)));
      expect(applied.filter(Boolean)).toHaveLength(1);
      const { rows } = await pools[0]!.query<{ n: number }>(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name IN ('deliveries', 'leases', 'send_events')",
      );
      expect(rows[0]!.n).toBe(3);
      // A node started later finds the schema current.
      expect(await migratePg(pools[1]!)).toBe(false);
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });

  it('a changed schema file is applied again, once (CREATE … IF NOT EXISTS: additive)', async () => {
    const url = await cluster.createDatabase('migrate_change');
    const pools = Array.from({ length: 3 }, () => openPg(url, { max: 1 }));
    try {
      expect(await migratePg(pools[0]!)).toBe(true);
      const v2 = 'CREATE TABLE IF NOT EXISTS later_table (id TEXT PRIMARY KEY);';
      const applied = await Promise.all(pools.map((p) => migratePg(p, v2)));
      expect(applied.filter(Boolean)).toHaveLength(1);
      expect((await pools[0]!.query("SELECT to_regclass('later_table') AS t")).rows[0]).toEqual({ t: 'later_table' });
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
});
