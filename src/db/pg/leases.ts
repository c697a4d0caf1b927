import { changes, row, type PgDb } from './db.js';

/**
 * Singleton leases (DESIGN §10): work that must run on one node at a time (the retention sweeper,
 * the reclaimer) runs on the node holding its row in `leases`. The holder renews before `until`;
 * when it dies, the row expires and the next node to ask takes it over. Times are the callers'
 * clocks (deps.now()): nodes' clocks must agree within a small part of the lease (NTP does).
 */
export function pgLeases(db: PgDb) {
  return {
    /** Takes or renews lease `name` for `holder` until now + ttlMs; false while another node holds it. */
    async acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean> {
      const r = await row(
        db,
        `INSERT INTO leases (name, holder, until) VALUES ($1, $2, $3)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
         WHERE leases.holder = excluded.holder OR leases.until <= $4
         RETURNING holder`,
        [name, holder, now + ttlMs, now],
      );
      return r !== null;
    },
    /** Gives the lease up (a clean stop): another node may take it at once. */
    async release(name: string, holder: string): Promise<boolean> {
      return (await changes(db, 'DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder])) > 0;
    },
    async holder(name: string, now: number): Promise<string | null> {
      return (await row<{ holder: string }>(db, 'SELECT holder FROM leases WHERE name = $1 AND until > $2', [name, now]))?.holder ?? null;
    },
  };
}
