import { toRoute, toRow, type Route } from '../routes.js';
import { changes, row, rows, type PgDb } from './db.js';

type Row = Parameters<typeof toRoute>[0];

export function routesTable(db: PgDb) {
  const params = (r: Route) => {
    const x = toRow(r);
    return [x.id, x.userId, x.domainId, x.match, x.action, x.destination, x.secret, x.priority, x.stop, x.filters, x.enabled, x.payload, x.createdAt, x.updatedAt];
  };
  return {
    async insert(r: Route): Promise<void> {
      await db.query(
        `INSERT INTO routes (id, user_id, domain_id, match, action, destination, secret, priority, stop, filters, enabled, payload, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        params(r),
      );
    },
    async update(r: Route): Promise<void> {
      const x = toRow(r);
      await db.query(
        `UPDATE routes SET match = $3, action = $4, destination = $5, secret = $6, priority = $7, stop = $8, filters = $9,
           enabled = $10, payload = $11, updated_at = $12 WHERE id = $1 AND user_id = $2`,
        [x.id, x.userId, x.match, x.action, x.destination, x.secret, x.priority, x.stop, x.filters, x.enabled, x.payload, x.updatedAt],
      );
    },
    async get(userId: string, id: string): Promise<Route | null> {
      const r = await row<Row>(db, 'SELECT * FROM routes WHERE id = $1 AND user_id = $2', [id, userId]);
      return r ? toRoute(r) : null;
    },
    async enabledForDomain(domainId: string): Promise<Route[]> {
      return (await rows<Row>(db, 'SELECT * FROM routes WHERE domain_id = $1 AND enabled = 1 ORDER BY priority ASC, id ASC', [domainId])).map(toRoute);
    },
    async list(userId: string, opts: { domainId?: string; before?: string; limit: number }): Promise<Route[]> {
      const rs = await rows<Row>(
        db,
        `SELECT * FROM routes WHERE user_id = $1 AND ($2::text IS NULL OR domain_id = $2) AND id < $3 ORDER BY id DESC LIMIT $4`,
        [userId, opts.domainId ?? null, opts.before ?? '\uffff', opts.limit],
      );
      return rs.map(toRoute);
    },
    async delete(userId: string, id: string): Promise<boolean> {
      return (await changes(db, 'DELETE FROM routes WHERE id = $1 AND user_id = $2', [id, userId])) > 0;
    },
  };
}
