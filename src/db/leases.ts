import type { Db } from './open.js';

/**
 * Lease rows of singletons (src/ops/singleton.ts), the same rules as on PostgreSQL
 * (pg/leases.ts): one holder per name until `until`. On SQLite one process owns the database, so
 * the row only changes hands between a process and the one started after it.
 */
export function leasesTable(db: Db) {
  // Taken when free, expired, or already ours (a renewal); RETURNING yields a row only then.
  const acquire = db.prepare<{ name: string; holder: string; now: number; until: number }, { holder: string }>(
    `INSERT INTO leases (name, holder, until) VALUES (@name, @holder, @until)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
     WHERE leases.holder = excluded.holder OR leases.until <= @now
     RETURNING holder`,
  );
  const release = db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?');
  const holder = db.prepare<[string, number], { holder: string }>('SELECT holder FROM leases WHERE name = ? AND until > ?');
  return {
    /** Takes or renews lease `name` for `holder` until now + ttlMs; false while another holds it. */
    acquire(name: string, holder: string, now: number, ttlMs: number): boolean {
      return acquire.get({ name, holder, now, until: now + ttlMs }) !== undefined;
    },
    /** Gives the lease up (a clean stop): another may take it at once. */
    release(name: string, holder: string): boolean {
      return release.run(name, holder).changes > 0;
    },
    holder(name: string, now: number): string | null {
      return holder.get(name, now)?.holder ?? null;
    },
  };
}
