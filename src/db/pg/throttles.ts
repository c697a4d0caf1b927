import type { Throttle, ThrottleOptions } from '../../auth/throttle.js';
import { rows, type PgDb } from './pool.js';

/** Longer than every window of every throttle: rows older than this count for nothing. */
const KEEP_MS = 2 * 60 * 60 * 1000;
/** Every this many events a node also drops every bucket's dead rows (attackers cycling keys leave many). */
const PRUNE_EVERY = 100;

/**
 * The login and sign-up throttles on PostgreSQL, shared by every node (DESIGN §10): the same
 * sliding window as SlidingWindow (src/auth/throttle.ts), over rows of throttle_hits, one per
 * counted event, in bucket `name:key`. take() holds a transaction-level advisory lock on the
 * bucket, so nodes counting the same key at once cannot both slip under the limit.
 */
export function pgThrottle(db: PgDb, name: string, o: ThrottleOptions): Throttle {
  const bucket = (key: string) => `${name}:${key}`;
  let recorded = 0;

  const wait = async (q: PgDb, b: string): Promise<number> => {
    const now = o.now();
    const live = await rows<{ at: number }>(q, 'SELECT at FROM throttle_hits WHERE bucket = $1 AND at > $2 ORDER BY at DESC LIMIT $3', [
      b, now - o.windowMs, o.limit,
    ]);
    if (live.length < o.limit) return 0;
    const freeAt = live[o.limit - 1]!.at + o.windowMs;
    return Math.max(1, Math.ceil((freeAt - now) / 1000));
  };
  const record = async (q: PgDb, b: string): Promise<void> => {
    const now = o.now();
    await q.query('INSERT INTO throttle_hits (bucket, at) VALUES ($1, $2)', [b, now]);
    await q.query('DELETE FROM throttle_hits WHERE bucket = $1 AND at <= $2', [b, now - o.windowMs]);
    if (++recorded % PRUNE_EVERY === 0) await q.query('DELETE FROM throttle_hits WHERE at < $1', [now - KEEP_MS]);
  };

  return {
    retryAfter: (key) => wait(db, bucket(key)),
    record: (key) => record(db, bucket(key)),
    take: (key) =>
      db.tx(async (t) => {
        await t.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`throttle ${bucket(key)}`]);
        const w = await wait(t, bucket(key));
        if (w === 0) await record(t, bucket(key));
        return w;
      }),
    async unrecord(key) {
      await db.query(
        `DELETE FROM throttle_hits WHERE ctid = (SELECT ctid FROM throttle_hits WHERE bucket = $1 ORDER BY at DESC LIMIT 1)`,
        [bucket(key)],
      );
    },
    async reset(key) {
      await db.query('DELETE FROM throttle_hits WHERE bucket = $1', [bucket(key)]);
    },
  };
}
