import type { ThrottleRule } from '../throttles.js';
import { changes, row, rows, type PgDb } from './db.js';

/**
 * The sign-in and sign-up throttles shared by every node (DESIGN §10): the same answers as the
 * in-memory ones of SQLite (src/db/throttles.ts), one row per counted event in throttle_hits.
 * Without it N nodes would allow N × the limit, and a guesser would only need to spread guesses
 * over the nodes behind the load balancer.
 */
export function pgThrottles(db: PgDb) {
  const bucket = (rule: ThrottleRule, key: string) => `${rule.name}:${key}`;
  const retryAfter = async (q: PgDb, rule: ThrottleRule, key: string, now: number): Promise<number> => {
    const live = await rows<{ at: number }>(q, 'SELECT at FROM throttle_hits WHERE bucket = $1 AND at > $2 ORDER BY at DESC LIMIT $3', [
      bucket(rule, key), now - rule.windowMs, rule.limit,
    ]);
    if (live.length < rule.limit) return 0;
    const freeAt = live[live.length - 1]!.at + rule.windowMs;
    return Math.max(1, Math.ceil((freeAt - now) / 1000));
  };
  const record = async (q: PgDb, rule: ThrottleRule, key: string, now: number): Promise<void> => {
    // The key's expired rows go as it is used; keys nobody uses again go in prune().
    await q.query('DELETE FROM throttle_hits WHERE bucket = $1 AND at <= $2', [bucket(rule, key), now - rule.windowMs]);
    await q.query('INSERT INTO throttle_hits (bucket, at) VALUES ($1, $2)', [bucket(rule, key), now]);
  };
  return {
    retryAfter: (rule: ThrottleRule, key: string, now: number) => retryAfter(db, rule, key, now),
    record: (rule: ThrottleRule, key: string, now: number) => record(db, rule, key, now),
    /** Atomic across nodes: concurrent takes of one key queue on an advisory lock of the key. */
    take(rule: ThrottleRule, key: string, now: number): Promise<number> {
      return db.tx(async (t) => {
        await t.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [bucket(rule, key)]);
        const wait = await retryAfter(t, rule, key, now);
        if (wait === 0) await record(t, rule, key, now);
        return wait;
      });
    },
    async unrecord(rule: ThrottleRule, key: string): Promise<void> {
      await db.query(
        'DELETE FROM throttle_hits WHERE ctid = (SELECT ctid FROM throttle_hits WHERE bucket = $1 ORDER BY at DESC LIMIT 1)',
        [bucket(rule, key)],
      );
    },
    async reset(rule: ThrottleRule, key: string): Promise<void> {
      await db.query('DELETE FROM throttle_hits WHERE bucket = $1', [bucket(rule, key)]);
    },
    /** Drops a throttle's events older than its window, whatever their key. */
    prune(rule: ThrottleRule, now: number): Promise<number> {
      return changes(db, "DELETE FROM throttle_hits WHERE left(bucket, length($1) + 1) = $1 || ':' AND at <= $2", [rule.name, now - rule.windowMs]);
    },
    async count(rule: ThrottleRule, key: string, now: number): Promise<number> {
      return (await row<{ n: number }>(db, 'SELECT count(*) AS n FROM throttle_hits WHERE bucket = $1 AND at > $2', [bucket(rule, key), now - rule.windowMs]))!.n;
    },
  };
}
