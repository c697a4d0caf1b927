import type { Db } from './open.js';

/**
 * Lease rows of singletons (src/ops/singleton.ts): one holder per name until `until`. On SQLite
 * one process owns the database, so the row only ever changes hands between a process and the
 * one started after it; the same statements make it a real arbiter on PostgreSQL (pg/leases.ts).
 */
export function leasesTable(db: Db) {
  // Taken when free, expired, or already ours (a renewal); RETURNING yields a row only then.
  const take = db.prepare<{ name: string; holder: string; now: number; until: number }, { holder: string }>(
    `INSERT INTO leases (name, holder, until) VALUES (@name, @holder, @until)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
     WHERE leases.holder = excluded.holder OR leases.until <= @now
     RETURNING holder`,
  );
  const release = db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?');
  return {
    /** Takes or renews lease `name` for `holder` until `until`; true when `holder` holds it. */
    take(name: string, holder: string, now: number, until: number): boolean {
      return take.get({ name, holder, now, until }) !== undefined;
    },
    /** Gives the lease up, if `holder` still holds it. */
    release(name: string, holder: string): void {
      release.run(name, holder);
    },
  };
}
