import { row, type PgDb } from './pool.js';

/**
 * Lease rows of singletons on PostgreSQL (src/ops/singleton.ts): the upsert is one statement,
 * so two nodes taking an expired lease at once serialize on the row and only one gets it.
 */
export function leasesTable(db: PgDb) {
  return {
    /** Takes or renews lease `name` for `holder` until `until`; true when `holder` holds it. */
    async take(name: string, holder: string, now: number, until: number): Promise<boolean> {
      const r = await row(
        db,
        `INSERT INTO leases (name, holder, until) VALUES ($1, $2, $4)
         ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until
         WHERE leases.holder = excluded.holder OR leases.until <= $3
         RETURNING holder`,
        [name, holder, now, until],
      );
      return r !== null;
    },
    /** Gives the lease up, if `holder` still holds it. */
    async release(name: string, holder: string): Promise<void> {
      await db.query('DELETE FROM leases WHERE name = $1 AND holder = $2', [name, holder]);
    },
  };
}
