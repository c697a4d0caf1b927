import { destinationOf, LEASE_EXPIRED, type NewDeliveryRow, toAttempt, toDelivery, type AttemptOutcome, type Delivery, type DeliveryAttempt } from '../deliveries.js';
import type { DeliveryListFilter } from '../deliveries-list.js';
import { pgDeliveryListQuery } from './deliveries-list.js';
import { changes, row, rows, type PgDb } from './db.js';

type Row = Parameters<typeof toDelivery>[0];

/**
 * The webhook queue on PostgreSQL (DESIGN §10): the delivery row is the queue. A claim leases the
 * row (next_attempt_at = lease end, WEBHOOK_TIMEOUT_MS + 30 s) under FOR UPDATE SKIP LOCKED, so
 * nodes claiming at once never take the same row nor wait for each other; an attempt left open
 * by a node whose lease ran out is closed by whoever claims the row next; finishing is fenced by
 * the attempt id: an attempt already closed that way changes nothing.
 */
export function deliveriesTable(db: PgDb) {
  const one = async (sql: string, params: unknown[]) => {
    const r = await row<Row>(db, sql, params);
    return r ? toDelivery(r) : null;
  };
  const many = async (sql: string, params: unknown[]) => (await rows<Row>(db, sql, params)).map(toDelivery);
  return {
    endForDomain(domainId: string, catchAllSecret: string | null, now: number): Promise<number> {
      return changes(
        db,
        `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, last_error = 'domain deleted', updated_at = $3
         WHERE status = 'pending' AND (domain_id = $1 OR (domain_id IS NULL AND (
           route_id IN (SELECT id FROM routes WHERE domain_id = $1)
           OR (route_id IS NULL AND secret = $2
               AND message_id IN (SELECT message_id FROM message_recipients WHERE domain_id = $1)))))`,
        [domainId, catchAllSecret, now],
      );
    },
    /** As on SQLite (src/db/deliveries.ts): with leaseUntil, written leased and its attempt row's id returned. */
    async insert(d: NewDeliveryRow, now: number): Promise<number | null> {
      const leased = d.leaseUntil !== undefined;
      await db.query(
        `INSERT INTO deliveries (id, user_id, message_id, route_id, domain_id, url, secret, payload, dest, status, attempts, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'pending', $11, $12, $10, $10)`,
        [d.id, d.userId, d.messageId, d.routeId, d.domainId, d.url, d.secret, d.payload ?? 'json', d.dest ?? destinationOf(d.url), now, leased ? 1 : 0, d.leaseUntil ?? now],
      );
      if (!leased) return null;
      return (await row<{ id: number }>(db, 'INSERT INTO delivery_attempts (delivery_id, started_at) VALUES ($1, $2) RETURNING id', [d.id, now]))!.id;
    },
    get: (userId: string, id: string) => one('SELECT * FROM deliveries WHERE id = $1 AND user_id = $2', [id, userId]),
    getById: (id: string) => one('SELECT * FROM deliveries WHERE id = $1', [id]),
    forMessage: (messageId: string) => many('SELECT * FROM deliveries WHERE message_id = $1 ORDER BY id', [messageId]),
    /** A skip-scan of deliveries_due, as on SQLite: one dead destination's pile is not read row by row. */
    async pendingDestinations(): Promise<{ dest: string; nextAt: number }[]> {
      const rs = await rows<{ dest: string; next_at: number }>(
        db,
        `WITH RECURSIVE d(dest) AS (
           SELECT MIN(dest) FROM deliveries WHERE status = 'pending'
           UNION ALL
           SELECT (SELECT MIN(dest) FROM deliveries WHERE status = 'pending' AND dest > d.dest) FROM d WHERE d.dest IS NOT NULL)
         SELECT dest, (SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND dest = d.dest) AS next_at
         FROM d WHERE dest IS NOT NULL`,
      );
      return rs.map((r) => ({ dest: r.dest, nextAt: r.next_at }));
    },
    dueFor: (dest: string, now: number, limit: number) =>
      many(`SELECT * FROM deliveries WHERE status = 'pending' AND dest = $1 AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3`, [dest, now, limit]),
    /**
     * Leases each delivery of `ids` still due and not being claimed by another node, closes an
     * attempt a dead node left open on it, and writes the new attempt rows: one transaction,
     * durable before any request goes out. Returns the ones started, in the order of `ids`.
     */
    claim(ids: string[], now: number, leaseUntil: number): Promise<{ delivery: Delivery; attemptId: number }[]> {
      if (!ids.length) return Promise.resolve([]);
      return db.tx(async (t) => {
        const leased = await rows<Row>(
          t,
          `UPDATE deliveries d SET attempts = d.attempts + 1, next_attempt_at = $3, updated_at = $2
           FROM (SELECT id FROM deliveries WHERE id = ANY($1::text[]) AND status = 'pending' AND next_attempt_at <= $2
                 ORDER BY id FOR UPDATE SKIP LOCKED) due
           WHERE d.id = due.id RETURNING d.*`,
          [ids, now, leaseUntil],
        );
        if (!leased.length) return [];
        const got = leased.map((r) => r.id);
        await t.query('UPDATE delivery_attempts SET finished_at = $2, error = $3 WHERE delivery_id = ANY($1::text[]) AND finished_at IS NULL', [
          got, now, LEASE_EXPIRED,
        ]);
        const attempts = await rows<{ id: number; delivery_id: string }>(
          t,
          'INSERT INTO delivery_attempts (delivery_id, started_at) SELECT unnest($1::text[]), $2 RETURNING id, delivery_id',
          [got, now],
        );
        const attemptOf = new Map(attempts.map((a) => [a.delivery_id, a.id]));
        const byId = new Map(leased.map((r) => [r.id, toDelivery(r)]));
        return ids.filter((id) => byId.has(id)).map((id) => ({ delivery: byId.get(id)!, attemptId: attemptOf.get(id)! }));
      });
    },
    /**
     * Finishes attempt `attemptId` and sets the delivery's fate, in one transaction; false, with
     * nothing written, when the attempt was already closed (its lease ran out and another node took
     * the delivery over). The delivery row is locked first, as a claim does, so the two never
     * deadlock and the check sees a concurrent claim's commit.
     */
    finish(deliveryId: string, attemptId: number, o: AttemptOutcome): Promise<boolean> {
      return db.tx(async (t) => {
        await t.query('SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE', [deliveryId]);
        const ended = await changes(
          t,
          `UPDATE delivery_attempts SET finished_at = $3, status_code = $4, latency_ms = $5, response_body = $6, error = $7
           WHERE id = $1 AND delivery_id = $2 AND finished_at IS NULL`,
          [attemptId, deliveryId, o.finishedAt, o.statusCode, o.latencyMs, o.responseBody, o.error],
        );
        if (!ended) return false;
        await t.query(
          `UPDATE deliveries SET status = $2, next_attempt_at = $3, last_status = $4, last_error = $5, updated_at = $6 WHERE id = $1`,
          [deliveryId, o.status, o.nextAttemptAt, o.statusCode, o.error, o.finishedAt],
        );
        return true;
      });
    },
    /**
     * Closes attempts whose lease has run out (their node died) with `error` and leaves their
     * deliveries due. Unlike SQLite's start-up recovery, an attempt still under its lease is left
     * alone: it belongs to a live node. Rows another node is claiming right now are skipped.
     */
    recoverInterrupted(now: number, error: string): Promise<number> {
      return db.tx(async (t) => {
        const expired = await rows<{ id: string }>(
          t,
          `SELECT d.id FROM deliveries d WHERE d.status = 'pending' AND d.next_attempt_at <= $1
             AND EXISTS (SELECT 1 FROM delivery_attempts a WHERE a.delivery_id = d.id AND a.finished_at IS NULL)
           FOR UPDATE SKIP LOCKED`,
          [now],
        );
        if (!expired.length) return 0;
        const ids = expired.map((r) => r.id);
        const n = await changes(t, 'UPDATE delivery_attempts SET finished_at = $2, error = $3 WHERE delivery_id = ANY($1::text[]) AND finished_at IS NULL', [
          ids, now, error,
        ]);
        await t.query('UPDATE deliveries SET last_status = NULL, last_error = $2, updated_at = $3 WHERE id = ANY($1::text[])', [ids, error, now]);
        return n;
      });
    },
    list(f: DeliveryListFilter): Promise<Delivery[]> {
      const { sql, params } = pgDeliveryListQuery(f);
      return many(sql, params);
    },
    async attempts(deliveryId: string): Promise<DeliveryAttempt[]> {
      return (await rows<Parameters<typeof toAttempt>[0]>(db, 'SELECT * FROM delivery_attempts WHERE delivery_id = $1 ORDER BY id', [deliveryId])).map(toAttempt);
    },
    requeue: (userId: string, id: string, now: number) =>
      one(`UPDATE deliveries SET status = 'pending', next_attempt_at = $3, updated_at = $3 WHERE id = $1 AND user_id = $2 RETURNING *`, [id, userId, now]),
  };
}
