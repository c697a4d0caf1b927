import type { Db } from './open.js';

/** Idempotency-Key rows of POST /v1/send (24 h). */
export function idempotencyTable(db: Db) {
  const get = db.prepare<[string, string], { request_hash: string; response: string; created_at: number }>(
    'SELECT request_hash, response, created_at FROM idempotency_keys WHERE user_id = ? AND key = ?',
  );
  const put = db.prepare(
    `INSERT INTO idempotency_keys (user_id, key, request_hash, response, created_at) VALUES (@userId, @key, @hash, @response, @now)
     ON CONFLICT (user_id, key) DO UPDATE SET request_hash = excluded.request_hash, response = excluded.response, created_at = excluded.created_at`,
  );
  const sweep = db.prepare('DELETE FROM idempotency_keys WHERE created_at < ?');
  return {
    /** The stored entry if younger than `since`; an older one is as good as absent. */
    get(userId: string, key: string, since: number): { hash: string; response: string } | null {
      const r = get.get(userId, key);
      return r && r.created_at >= since ? { hash: r.request_hash, response: r.response } : null;
    },
    put(userId: string, key: string, hash: string, response: string, now: number): void {
      put.run({ userId, key, hash, response, now });
    },
    sweep(before: number): number {
      return sweep.run(before).changes;
    },
  };
}
