import type { Db } from './open.js';

/** Singleton leases (schema.sql `leases`): what runs on one node at a time. See src/db/pg/leases.ts. */
export function leasesTable(db: Db) {
  const acquire = db.prepare<{ name: string; holder: string; until: number; now: number }, { holder: string }>(
    `INSERT INTO leases (name, holder, until) VALUES (@name, @holder, @until)
     ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
     WHERE leases.holder = excluded.holder OR leases.until <= @now
     RETURNING holder`,
  );
  const release = db.prepare('DELETE FROM leases WHERE name = ? AND holder = ?');
  const holder = db.prepare<[string, number], { holder: string }>('SELECT holder FROM leases WHERE name = ? AND until > ?');
  return {
    /** Takes or renews lease `name` for `holder` until now + ttlMs; false while another holder has it. */
    acquire(name: string, holder: string, now: number, ttlMs: number): boolean {
      return acquire.get({ name, holder, until: now + ttlMs, now }) !== undefined;
    },
    /** Gives the lease up (a clean stop): another node may take it at once. */
    release(name: string, holderName: string): boolean {
      return release.run(name, holderName).changes > 0;
    },
    holder(name: string, now: number): string | null {
      return holder.get(name, now)?.holder ?? null;
    },
  };
}
