import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leasesTable } from '../../src/db/leases.js';
import { openDb, type Db } from '../../src/db/open.js';
import { openPgRepository } from '../../src/db/pg/repository.js';
import type { Repository } from '../../src/db/repository.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

type Leases = { acquire(n: string, h: string, now: number, ttlMs: number): unknown; release(n: string, h: string): unknown };

/** The lease rules, the same on both engines (src/ops/singleton.ts relies on them). */
async function leaseRules(leases: Leases) {
  expect(await leases.acquire('sweeper', 'a', 1000, 1000)).toBe(true);
  expect(await leases.acquire('sweeper', 'b', 1500, 1000)).toBe(false); // held by a until 2000
  expect(await leases.acquire('reclaimer', 'b', 1500, 1000)).toBe(true); // another name, another row
  expect(await leases.acquire('sweeper', 'a', 1900, 1000)).toBe(true); // a renews
  expect(await leases.acquire('sweeper', 'b', 2500, 1000)).toBe(false); // renewed: still a's
  expect(await leases.acquire('sweeper', 'b', 2900, 1000)).toBe(true); // a stopped renewing: b takes over
  expect(await leases.acquire('sweeper', 'a', 3000, 1000)).toBe(false); // and a, back, finds it taken
  await leases.release('sweeper', 'a'); // not a's any more: changes nothing
  expect(await leases.acquire('sweeper', 'a', 3100, 1000)).toBe(false);
  await leases.release('sweeper', 'b');
  expect(await leases.acquire('sweeper', 'a', 3200, 1000)).toBe(true); // released: free at once
}

describe('lease rows', () => {
  let dir: string;
  let db: Db;
  let cluster: PgCluster;
  let pg: Repository;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mailhook-leases-'));
    db = openDb(join(dir, 'mailhook.db'));
    cluster = await startPgCluster();
    pg = await openPgRepository(await cluster.createDatabase('leases'));
  }, 120_000);
  afterAll(async () => {
    db?.close();
    rmSync(dir, { recursive: true, force: true });
    await pg?.close();
    cluster?.stop();
  });

  it('SQLite: one holder per name, renewals, takeover after expiry, release', () => leaseRules(leasesTable(db)));
  it('PostgreSQL: the same rules', () => leaseRules(pg.leases));
});
