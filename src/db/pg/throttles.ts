import { changes, row, rows, type PgDb } from './pool.js';

/**
 * A sliding-window throttle shared by every node (login and sign-up limits, DESIGN §10): the
 * same answers as the in-memory SlidingWindow (src/auth/throttle.ts), one row per counted event
 * in throttle_hits. Without it, N nodes would allow N × the limit, and a guesser would only need
 * to spread over the nodes behind the load balancer.
 */
export function pgSlidingWindow(db: PgDb, opts: { name: string; limit: number; windowMs: number; now: () => number }) {
  const bucket = (key: string) => `${opts.name}:${key}`;
  const retryAfter = async (q: PgDb, key: string): Promise<number> => {
    const now = opts.now();
    const live = await rows<{ at: number }>(q, 'SELECT at FROM throttle_hits WHERE bucket = $1 AND at > $2 ORDER BY at DESC LIMIT $3', [
      bucket(key), now - opts.windowMs, opts.limit,
    ]);
    if (live.length < opts.limit) return 0;
    const freeAt = live[live.length - 1]!.at + opts.windowMs;
    return Math.max(1, Math.ceil((freeAt - now) / 1000));
  };
  const record = async (q: PgDb, key: string): Promise<void> => {
    const now = opts.now();
    // The bucket's expired rows go as it is used; buckets nobody uses again go in prune().
    await q.query('DELETE FROM throttle_hits WHERE bucket = $1 AND at <= $2', [bucket(key), now - opts.windowMs]);
    await q.query('INSERT INTO throttle_hits (bucket, at) VALUES ($1, $2)', [bucket(key), now]);
  };
  return {
    /** Seconds until `key` may act again, or 0 when it is under its limit now. */
    retryAfter: (key: string) => retryAfter(db, key),
    record: (key: string) => record(db, key),
    /** Counts the event if allowed; returns the seconds to wait (0 = allowed). Atomic across nodes. */
    take(key: string): Promise<number> {
      return db.tx(async (t) => {
        await t.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [bucket(key)]);
        const wait = await retryAfter(t, key);
        if (wait === 0) await record(t, key);
        return wait;
      });
    },
    /** Takes back the latest event of `key` (a login that turned out to be right). */
    async unrecord(key: string): Promise<void> {
      await db.query(
        'DELETE FROM throttle_hits WHERE ctid = (SELECT ctid FROM throttle_hits WHERE bucket = $1 ORDER BY at DESC LIMIT 1)',
        [bucket(key)],
      );
    },
    async reset(key: string): Promise<void> {
      await db.query('DELETE FROM throttle_hits WHERE bucket = $1', [bucket(key)]);
    },
    /** Drops this throttle's events older than its window, whatever their key. */
    prune(): Promise<number> {
      return changes(db, "DELETE FROM throttle_hits WHERE left(bucket, length($1) + 1) = $1 || ':' AND at <= $2", [opts.name, opts.now() - opts.windowMs]);
    },
    async count(key: string): Promise<number> {
      return (await row<{ n: number }>(db, 'SELECT count(*) AS n FROM throttle_hits WHERE bucket = $1 AND at > $2', [bucket(key), opts.now() - opts.windowMs]))!.n;
    },
  };
}
