import { toBlock, type SenderBlock } from '../sender-blocks.js';
import { changes, row, rows, type PgDb } from './db.js';

type Row = Parameters<typeof toBlock>[0];

export function senderBlocksTable(db: PgDb) {
  const one = async (sql: string, params: unknown[]) => {
    const r = await row<Row>(db, sql, params);
    return r ? toBlock(r) : null;
  };
  return {
    async insert(b: SenderBlock): Promise<void> {
      await db.query('INSERT INTO sender_blocks (id, user_id, domain_id, pattern, created_at) VALUES ($1, $2, $3, $4, $5)', [
        b.id, b.userId, b.domainId, b.pattern, b.createdAt,
      ]);
    },
    get: (userId: string, id: string) => one('SELECT * FROM sender_blocks WHERE id = $1 AND user_id = $2', [id, userId]),
    find: (userId: string, domainId: string | null, pattern: string) =>
      one('SELECT * FROM sender_blocks WHERE user_id = $1 AND domain_id IS NOT DISTINCT FROM $2 AND pattern = $3', [userId, domainId, pattern]),
    async list(userId: string, opts: { domainId?: string; before?: string; limit: number }): Promise<SenderBlock[]> {
      const rs = await rows<Row>(
        db,
        `SELECT * FROM sender_blocks WHERE user_id = $1 AND ($2::text IS NULL OR domain_id = $2) AND id < $3 ORDER BY id DESC LIMIT $4`,
        [userId, opts.domainId ?? null, opts.before ?? '\uffff', opts.limit],
      );
      return rs.map(toBlock);
    },
    async patternsFor(userId: string, domainId: string): Promise<string[]> {
      const rs = await rows<{ pattern: string }>(db, 'SELECT pattern FROM sender_blocks WHERE user_id = $1 AND (domain_id IS NULL OR domain_id = $2)', [
        userId, domainId,
      ]);
      return rs.map((r) => r.pattern);
    },
    async count(userId: string): Promise<number> {
      return (await row<{ n: number }>(db, 'SELECT count(*) AS n FROM sender_blocks WHERE user_id = $1', [userId]))!.n;
    },
    async delete(userId: string, id: string): Promise<boolean> {
      return (await changes(db, 'DELETE FROM sender_blocks WHERE id = $1 AND user_id = $2', [id, userId])) > 0;
    },
  };
}
