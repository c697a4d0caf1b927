import type { PayloadMode } from '../deliver/payload.js';
import type { Db } from './open.js';
import { deliveryListQuery, listStatements, type DeliveryListFilter } from './deliveries-list.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  id: string;
  userId: string;
  messageId: string;
  routeId: string | null;
  /** The domain whose route or catch-all queued it; null only for old rows the migration could not place. */
  domainId: string | null;
  url: string;
  secret: string;
  /** What this delivery posts, fixed when it was queued so every attempt sends the same body. */
  payload: PayloadMode;
  dest: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

export interface DeliveryRow {
  id: string;
  user_id: string;
  message_id: string;
  route_id: string | null;
  domain_id: string | null;
  url: string;
  secret: string;
  payload: PayloadMode;
  dest: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export const toDelivery = (r: DeliveryRow): Delivery => ({
  id: r.id,
  userId: r.user_id,
  messageId: r.message_id,
  routeId: r.route_id,
  domainId: r.domain_id,
  url: r.url,
  secret: r.secret,
  payload: r.payload,
  dest: r.dest,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastStatus: r.last_status,
  lastError: r.last_error,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** One row of delivery_attempts: written before the request, finished after it. */
export interface DeliveryAttempt {
  id: number;
  deliveryId: string;
  startedAt: number;
  /** NULL while in flight, or forever if the process died mid-attempt (then recovered at start). */
  finishedAt: number | null;
  statusCode: number | null;
  latencyMs: number | null;
  responseBody: string | null;
  error: string | null;
}

interface AttemptRow {
  id: number;
  delivery_id: string;
  started_at: number;
  finished_at: number | null;
  status_code: number | null;
  latency_ms: number | null;
  response_body: string | null;
  error: string | null;
}

export const toAttempt = (r: AttemptRow): DeliveryAttempt => ({
  id: r.id,
  deliveryId: r.delivery_id,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
  statusCode: r.status_code,
  latencyMs: r.latency_ms,
  responseBody: r.response_body,
  error: r.error,
});

/** How an attempt ended and what becomes of its delivery, as the worker decided. */
export interface AttemptOutcome {
  finishedAt: number;
  statusCode: number | null;
  latencyMs: number;
  responseBody: string;
  error: string | null;
  status: DeliveryStatus;
  /** NULL once final. */
  nextAttemptAt: number | null;
}

/** The delivery worker's queue statements (their plans, on deliveries_due, are pinned by tests). */
export const QUEUE_SQL = {
  // Every destination with pending work and its earliest next_attempt_at. A skip-scan over
  // deliveries_due: O(destinations x log rows), however many rows one dead destination piles up.
  pendingDestinations: `WITH RECURSIVE d(dest) AS (
       SELECT MIN(dest) FROM deliveries WHERE status = 'pending'
       UNION ALL
       SELECT (SELECT MIN(dest) FROM deliveries WHERE status = 'pending' AND dest > d.dest) FROM d WHERE d.dest IS NOT NULL)
     SELECT dest, (SELECT MIN(next_attempt_at) FROM deliveries WHERE status = 'pending' AND dest = d.dest) AS next_at
     FROM d WHERE dest IS NOT NULL`,
  dueFor: `SELECT * FROM deliveries WHERE status = 'pending' AND dest = @dest AND next_attempt_at <= @now
     ORDER BY next_attempt_at LIMIT @limit`,
  // A whole claim in one statement (@ids: a JSON array), each row found by its primary key (`+`:
  // not by walking every pending row of deliveries_due).
  lease: `UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = @leaseUntil, updated_at = @now
     WHERE id IN (SELECT value FROM json_each(@ids)) AND +status = 'pending' AND +next_attempt_at <= @now RETURNING *`,
} as const;

/** The lease, for rows the caller read already: only what it changes comes back (no 16-column row per attempt). */
const LEASE_KNOWN = QUEUE_SQL.lease.replace('RETURNING *', 'RETURNING id, attempts');

/**
 * Written into an attempt that was still open when its delivery was claimed again: its lease had
 * run out (a node that stopped answering, or a call stuck past WEBHOOK_TIMEOUT_MS + 30 s), the
 * claim took the delivery over, and finish() of the old attempt now changes nothing.
 */
export const LEASE_EXPIRED = 'lease expired: the attempt did not finish in time and the delivery was taken over';

/** A delivery to queue (deliveries.insert). */
export interface NewDeliveryRow {
  id: string;
  userId: string;
  messageId: string;
  routeId: string | null;
  domainId: string;
  url: string;
  secret: string;
  payload?: PayloadMode;
  /** destinationOf(url), when the caller has it already. */
  dest?: string;
  /** Written leased to this node's worker until then, its first attempt started (see insert). */
  leaseUntil?: number;
}

/** The concurrency key of a webhook URL: one slow host never holds up another. */
export function destinationOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

export function deliveriesTable(db: Db) {
  // Positional parameters, as messages.insert (issue 14): a named one is looked up on the object by
  // a V8 string made from its name, on every message; with the spread into that object, 8.3–13.0 → 5.0–5.2 µs a row.
  const insert = db.prepare<[string, string, string, string | null, string, string, string, string, string, number, number, number]>(
    `INSERT INTO deliveries (id, user_id, message_id, route_id, domain_id, url, secret, payload, dest, status, attempts, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?)`,
  );
  // Born leased (issue 14): as claim() leaves a row, attempts 1 and next_attempt_at = the lease's end.
  const insertLeased = db.prepare<[string, string, string, string | null, string, string, string, string, string, number, number, number]>(
    `INSERT INTO deliveries (id, user_id, message_id, route_id, domain_id, url, secret, payload, dest, status, attempts, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', 1, ?, ?, ?)`,
  );
  const startAttempt = db.prepare<[string, number]>('INSERT INTO delivery_attempts (delivery_id, started_at) VALUES (?, ?)');
  const byId = db.prepare<[string, string], DeliveryRow>('SELECT * FROM deliveries WHERE id = ? AND user_id = ?');
  const byIdAny = db.prepare<[string], DeliveryRow>('SELECT * FROM deliveries WHERE id = ?');
  const forMessage = db.prepare<[string], DeliveryRow>('SELECT * FROM deliveries WHERE message_id = ? ORDER BY id');
  const pendingDests = db.prepare<[], { dest: string; next_at: number }>(QUEUE_SQL.pendingDestinations);
  const dueFor = db.prepare<{ dest: string; now: number; limit: number }, DeliveryRow>(QUEUE_SQL.dueFor);
  const lease = db.prepare<{ ids: string; now: number; leaseUntil: number }, DeliveryRow>(QUEUE_SQL.lease);
  const leaseKnown = db.prepare<{ ids: string; now: number; leaseUntil: number }, { id: string; attempts: number }>(LEASE_KNOWN);
  const startAttempts = db.prepare<{ ids: string; now: number }, { id: number; delivery_id: string }>(
    'INSERT INTO delivery_attempts (delivery_id, started_at) SELECT value, @now FROM json_each(@ids) RETURNING id, delivery_id',
  );
  const closeOpen = db.prepare<{ ids: string; now: number; error: string }>(
    'UPDATE delivery_attempts SET finished_at = @now, error = @error WHERE delivery_id IN (SELECT value FROM json_each(@ids)) AND finished_at IS NULL',
  );
  // Positional, as insert: once per attempt, without an object spread per statement (issue 14).
  const endAttempt = db.prepare<[number, number | null, number, string, string | null, number]>(
    `UPDATE delivery_attempts SET finished_at = ?, status_code = ?, latency_ms = ?,
       response_body = ?, error = ? WHERE id = ? AND finished_at IS NULL`,
  );
  const settle = db.prepare<[DeliveryStatus, number | null, number | null, string | null, number, string]>(
    `UPDATE deliveries SET status = ?, next_attempt_at = ?, last_status = ?,
       last_error = ?, updated_at = ? WHERE id = ?`,
  );
  const unfinished = db.prepare<[], { id: number; delivery_id: string }>(
    `SELECT a.id, a.delivery_id FROM deliveries d JOIN delivery_attempts a ON a.delivery_id = d.id
     WHERE d.status = 'pending' AND a.finished_at IS NULL`,
  );
  const interrupt = db.prepare('UPDATE delivery_attempts SET finished_at = @now, error = @error WHERE id = @id');
  const dueNow = db.prepare(
    `UPDATE deliveries SET next_attempt_at = @now, last_status = NULL, last_error = @error, updated_at = @now
     WHERE id = @id AND status = 'pending'`,
  );
  const lists = listStatements(db);
  const attemptsOf = db.prepare<[string], AttemptRow>('SELECT * FROM delivery_attempts WHERE delivery_id = ? ORDER BY id');
  const requeue = db.prepare<{ id: string; userId: string; now: number }, DeliveryRow>(
    `UPDATE deliveries SET status = 'pending', next_attempt_at = @now, updated_at = @now
     WHERE id = @id AND user_id = @userId RETURNING *`,
  );

  // Atomic on their own; inside the group commit's batch already (its savepoint per write), so
  // without a savepoint of their own: two statements fewer per call on the hot path.
  const atomic = <A extends unknown[], R>(fn: (...args: A) => R) => {
    const tx = db.transaction(fn);
    return (...args: A): R => (db.inTransaction ? fn(...args) : tx(...args));
  };
  /** Records the attempts before the calls and leases the rows so no pass picks them meanwhile. */
  const claim = atomic((ids: string[], now: number, leaseUntil: number, known?: ReadonlyMap<string, Delivery>) => {
    const params = { ids: JSON.stringify(ids), now, leaseUntil };
    const leased = new Map<string, Delivery>();
    if (known) {
      // Every id in `known`: the rows as the caller read them, with what the lease changed.
      for (const r of leaseKnown.all(params)) {
        leased.set(r.id, { ...known.get(r.id)!, status: 'pending', attempts: r.attempts, nextAttemptAt: leaseUntil, updatedAt: now });
      }
    } else {
      for (const r of lease.all(params)) leased.set(r.id, toDelivery(r));
    }
    if (leased.size === 0) return [];
    // An attempt still open on a row due again lost its lease: closed, so its late finish() is void.
    // A row on its first attempt (this lease made it 1) has no earlier attempt to close: only this
    // claim inserts attempts, and it counts each one (issue 14: most claims are first attempts).
    const again = [...leased.values()].filter((d) => d.attempts > 1).map((d) => d.id);
    if (again.length > 0) closeOpen.run({ ids: JSON.stringify(again), now, error: LEASE_EXPIRED });
    const attemptIds = new Map(startAttempts.all({ ids: JSON.stringify([...leased.keys()]), now }).map((a) => [a.delivery_id, a.id]));
    // In the order asked for (the worker's fairness order).
    return ids.filter((id) => leased.has(id)).map((id) => ({ delivery: leased.get(id)!, attemptId: attemptIds.get(id)! }));
  });
  const finish = atomic((deliveryId: string, attemptId: number, o: AttemptOutcome) => {
    if (endAttempt.run(o.finishedAt, o.statusCode, o.latencyMs, o.responseBody, o.error, attemptId).changes === 0) return false;
    settle.run(o.status, o.nextAttemptAt, o.statusCode, o.error, o.finishedAt, deliveryId);
    return true;
  });
  const recover = db.transaction((now: number, error: string) => {
    const rows = unfinished.all();
    for (const r of rows) {
      interrupt.run({ id: r.id, now, error });
      dueNow.run({ id: r.delivery_id, now, error });
    }
    return rows.length;
  });

  const endOfDomain = db.prepare<{ domainId: string; secret: string | null; now: number }>(
    `UPDATE deliveries SET status = 'failed', next_attempt_at = NULL, last_error = 'domain deleted', updated_at = @now
     WHERE status = 'pending' AND (domain_id = @domainId OR (domain_id IS NULL AND (
       route_id IN (SELECT id FROM routes WHERE domain_id = @domainId)
       OR (route_id IS NULL AND secret = @secret
           AND message_id IN (SELECT message_id FROM message_recipients WHERE domain_id = @domainId)))))`,
  );

  return {
    /**
     * A domain is being deleted: its pending deliveries end as failed, for messages that outlive it
     * under another domain. Old rows without domain_id: its routes', and its catch-all's, known by
     * the catch-all's secret.
     */
    endForDomain(domainId: string, catchAllSecret: string | null, now: number): number {
      return endOfDomain.run({ domainId, secret: catchAllSecret, now }).changes;
    },
    /**
     * Queues a delivery, due now. Call inside the transaction that stores the message. With
     * `leaseUntil` it is written already leased to this node's worker, as claim() would leave it
     * (attempts 1, next_attempt_at = leaseUntil, its attempt row open), and the attempt row's id
     * is returned: the worker posts its first attempt from memory once this commits (issue 14).
     */
    insert(d: NewDeliveryRow, now: number): number | null {
      const dest = d.dest ?? destinationOf(d.url);
      if (d.leaseUntil === undefined) {
        insert.run(d.id, d.userId, d.messageId, d.routeId, d.domainId, d.url, d.secret, d.payload ?? 'json', dest, now, now, now);
        return null;
      }
      insertLeased.run(d.id, d.userId, d.messageId, d.routeId, d.domainId, d.url, d.secret, d.payload ?? 'json', dest, d.leaseUntil, now, now);
      return Number(startAttempt.run(d.id, now).lastInsertRowid);
    },
    get(userId: string, id: string): Delivery | null {
      const r = byId.get(id, userId);
      return r ? toDelivery(r) : null;
    },
    getById(id: string): Delivery | null {
      const r = byIdAny.get(id);
      return r ? toDelivery(r) : null;
    },
    forMessage(messageId: string): Delivery[] {
      return forMessage.all(messageId).map(toDelivery);
    },
    /** Destinations with pending deliveries and when the earliest of them is due. */
    pendingDestinations(): { dest: string; nextAt: number }[] {
      return pendingDests.all().map((r) => ({ dest: r.dest, nextAt: r.next_at }));
    },
    /** Up to `limit` due deliveries of one destination, longest-waiting first. */
    dueFor(dest: string, now: number, limit: number): Delivery[] {
      return dueFor.all({ dest, now, limit }).map(toDelivery);
    },
    /**
     * Starts an attempt of each delivery still due, in one transaction (one fsync for a batch):
     * an attempt row, attempts + 1, next_attempt_at = leaseUntil. An attempt still open on a
     * delivery due again (its lease ran out) is closed with LEASE_EXPIRED. Returns the ones started.
     * `known`: the rows of `ids` as the caller read them (dueFor); the deliveries returned are
     * those with the lease's changes (attempts, next_attempt_at, updated_at) instead of a read of
     * each whole row (issue 14). Only fields the lease changes differ from the row then.
     */
    claim(ids: string[], now: number, leaseUntil: number, known?: ReadonlyMap<string, Delivery>): { delivery: Delivery; attemptId: number }[] {
      return claim(ids, now, leaseUntil, known && ids.every((id) => known.has(id)) ? known : undefined);
    },
    /**
     * Finishes the attempt row and sets the delivery's fate, in one transaction. Fenced by the
     * attempt: false, with nothing written, when it was already closed (recovered as interrupted;
     * on PostgreSQL, taken over by another node once its lease ran out).
     */
    finish(deliveryId: string, attemptId: number, outcome: AttemptOutcome): boolean {
      return finish(deliveryId, attemptId, outcome);
    },
    /** After a crash: closes attempts left open with `error` and makes their deliveries due now. */
    recoverInterrupted(now: number, error: string): number {
      return recover(now, error);
    },
    /** A user's deliveries, newest first, filtered; paginate with `before` = the last id. */
    list(f: DeliveryListFilter): Delivery[] {
      const { sql, params } = deliveryListQuery(f);
      return lists(sql).all(params).map(toDelivery);
    },
    /** Attempts of one delivery, oldest first. Not scoped: check ownership with get() first. */
    attempts(deliveryId: string): DeliveryAttempt[] {
      return attemptsOf.all(deliveryId).map(toAttempt);
    },
    /** Queues a new attempt now, whatever the status; null when not this user's delivery. */
    requeue(userId: string, id: string, now: number): Delivery | null {
      const r = requeue.get({ id, userId, now });
      return r ? toDelivery(r) : null;
    },
  };
}
