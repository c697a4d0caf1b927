import { changes, row, type PgDb } from './db.js';

/** Idempotency-Key rows of POST /v1/send (24 h). */
export function idempotencyTable(db: PgDb) {
  return {
    async get(userId: string, key: string, since: number): Promise<{ hash: string; response: string } | null> {
      const r = await row<{ request_hash: string; response: string; created_at: number }>(
        db,
        'SELECT request_hash, response, created_at FROM idempotency_keys WHERE user_id = $1 AND key = $2',
        [userId, key],
      );
      return r && r.created_at >= since ? { hash: r.request_hash, response: r.response } : null;
    },
    async put(userId: string, key: string, hash: string, response: string, now: number): Promise<void> {
      await db.query(
        `INSERT INTO idempotency_keys (user_id, key, request_hash, response, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, response = excluded.response, created_at = excluded.created_at`,
        [userId, key, hash, response, now],
      );
    },
    sweep(before: number): Promise<number> {
      return changes(db, 'DELETE FROM idempotency_keys WHERE created_at < $1', [before]);
    },
  };
}
