import { toSuppression, type Suppression } from '../suppressions.js';
import { changes, row, rows, type PgDb } from './db.js';

export function suppressionsTable(db: PgDb) {
  return {
    async add(s: { userId: string; address: string; reason: string; detail: string; sendId: string | null }, now: number): Promise<void> {
      await db.query(
        `INSERT INTO suppressions (user_id, address, reason, detail, send_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (user_id, address) DO NOTHING`,
        [s.userId, s.address.toLowerCase(), s.reason, s.detail, s.sendId, now],
      );
    },
    async list(userId: string, after: string | undefined, limit: number): Promise<Suppression[]> {
      const rs = await rows<Parameters<typeof toSuppression>[0]>(
        db,
        'SELECT * FROM suppressions WHERE user_id = $1 AND address > $2 ORDER BY address LIMIT $3',
        [userId, after ?? '', limit],
      );
      return rs.map(toSuppression);
    },
    async get(userId: string, address: string): Promise<Suppression | null> {
      const r = await row<Parameters<typeof toSuppression>[0]>(db, 'SELECT * FROM suppressions WHERE user_id = $1 AND address = $2', [userId, address.toLowerCase()]);
      return r ? toSuppression(r) : null;
    },
    async remove(userId: string, address: string): Promise<boolean> {
      return (await changes(db, 'DELETE FROM suppressions WHERE user_id = $1 AND address = $2', [userId, address.toLowerCase()])) > 0;
    },
  };
}
