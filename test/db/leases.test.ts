import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { leasesTable } from '../../src/db/leases.js';
import { openDb, type Db } from '../../src/db/open.js';
import { openPgRepository } from '../../src/db/pg/repository.js';
import type { Repository } from '../../src/db/repository.js';
import { startPgCluster, type PgCluster } from '../helpers/pg-cluster.js';

type Leases = { take(n: string, h: string, now: number, until: number): unknown; release(n: string, h: string): unknown };

/** The lease rules, the same on both engines (src/ops/singleton.ts relies on them). */
async function leaseRules(leases: Leases) {
  expect(await leases.take('sweeper', 'a', 1000, 2000)).toBe(true);
  expect(await leases.take('sweeper', 'b', 1500, 2500)).toBe(false); // held by a until 2000
  expect(await leases.take('reclaimer', 'b', 1500, 2500)).toBe(true); // another name, another row
  expect(await leases.take('sweeper', 'a', 1900, 2900)).toBe(true); // a renews
  expect(await leases.take('sweeper', 'b', 2500, 3500)).toBe(false); // renewed: still a's
  expect(await leases.take('sweeper', 'b', 2900, 3900)).toBe(true); // a stopped renewing: b takes over
  expect(await leases.take('sweeper', 'a', 3000, 4000)).toBe(false); // and a, back, finds it taken
  await leases.release('sweeper', 'a'); // not a's any more: changes nothing
  expect(await leases.take('sweeper', 'a', 3100, 4100)).toBe(false);
  await leases.release('sweeper', 'b');
  expect(await leases.take('sweeper', 'a', 3200, 4200)).toBe(true); // released: free at once
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
