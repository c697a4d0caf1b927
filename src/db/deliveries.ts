import type Database from 'better-sqlite3';
import type { Db } from './open.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

export interface Delivery {
  id: string;
  userId: string;
  messageId: string;
  routeId: string | null;
  url: string;
  secret: string;
  dest: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  createdAt: number;
  updatedAt: number;
}

interface Row {
  id: string;
  user_id: string;
  message_id: string;
  route_id: string | null;
  url: string;
  secret: string;
  dest: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  created_at: number;
  updated_at: number;
}

export const toDelivery = (r: Row): Delivery => ({
  id: r.id,
  userId: r.user_id,
  messageId: r.message_id,
  routeId: r.route_id,
  url: r.url,
  secret: r.secret,
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

const toAttempt = (r: AttemptRow): DeliveryAttempt => ({
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

export interface DeliveryListFilter {
  userId: string;
  status?: DeliveryStatus;
  messageId?: string;
  routeId?: string;
  /** Cursor: only ids below it (newest first). */
  before?: string;
  limit: number;
}

/** What an API key restricted to `domainId` may list (see UNDER_DOMAIN). */
export interface DomainDeliveryListFilter extends DeliveryListFilter {
  domainId: string;
}

/**
 * A restricted key's domain with fewer recipients than this is listed by reading all of its
 * messages' deliveries and sorting them (see deliveryListQuery); a bigger one by walking the
 * account's deliveries in id order, checking each. Where the two cost about the same for an
 * account of 1,000,000 deliveries (bench api-scale: ~6 µs a message read whole, its rows
 * scattered over the table; ~0.8 µs a delivery walked past): at worst 2,500 messages read, or
 * ~20,000 deliveries walked for a page of 50, ~20 ms either way ("API, deliveries" in bench/README.md).
 */
export const SMALL_DOMAIN = 2500;

const isSet = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

/**
 * Whether delivery `d` is under domain @domainId: a route's delivery is under the route's domain;
 * a catch-all's (route_id NULL), or one whose route was deleted since, under every domain its
 * message was addressed to (a catch-all delivery does not record which domain's it was).
 */
const ROUTE_UNDER_DOMAIN = '(SELECT rt.domain_id = @domainId FROM routes rt WHERE rt.id = d.route_id)';
const UNDER_DOMAIN = `COALESCE(${ROUTE_UNDER_DOMAIN},
  EXISTS (SELECT 1 FROM message_recipients r WHERE r.domain_id = @domainId AND r.message_id = d.message_id))`;

/** How each list statement finds its rows: the index it walks, in id order (see deliveryListQuery). */
const SEEK = {
  message: 'deliveries d WHERE d.message_id = @messageId AND +d.user_id = @userId',
  // CROSS JOIN: SQLite keeps the domain's messages as the outer loop (not a walk of every id).
  domain: `(SELECT DISTINCT message_id FROM message_recipients WHERE domain_id = @domainId) dm
    CROSS JOIN deliveries d ON d.message_id = dm.message_id WHERE +d.user_id = @userId`,
  route: 'deliveries d WHERE d.user_id = @userId AND d.route_id = @routeId',
  status: 'deliveries d WHERE d.user_id = @userId AND d.status = @status',
  user: 'deliveries d WHERE d.user_id = @userId',
} as const;

/** Which index the list walks for the filters set (see deliveryListQuery). */
function seekOf(f: DeliveryListFilter & { domainId?: string; smallDomain?: boolean }): keyof typeof SEEK {
  if (isSet(f.messageId)) return 'message';
  if (isSet(f.domainId) && f.smallDomain) return 'domain';
  if (isSet(f.routeId) && f.status !== 'failed' && f.status !== 'pending') return 'route';
  return isSet(f.status) ? 'status' : 'user';
}

/**
 * The list statement for the filters `f` sets, and its parameters. One statement per
 * combination, not one with `(@x IS NULL OR …)` for every filter: SQLite plans a statement once,
 * and a term that may be switched off cannot pick an index, so `?status=failed` (0.1 %), an old
 * message's or a quiet route's deliveries walked the whole account. Each plan walks one index in
 * id order, newest first, and stops after `limit` rows; the other filters are row checks (`+x`):
 * - message: deliveries_message_id (message_id, id): a message has a delivery per route fired;
 * - else route, unless the status is failed or pending: deliveries_user_route (user_id, route_id, id);
 * - else status: deliveries_user_status (user_id, status, id). With a route too, failed and
 *   pending are the few (the worker settles most deliveries as delivered), so their walk is short;
 * - else deliveries_user (user_id, id).
 * With `domainId` (a restricted key) the walk checks UNDER_DOMAIN per row: short for a busy
 * domain, long for a small one. So for a domain with under SMALL_DOMAIN recipients
 * (`smallDomain`, counted by the caller) and no message filter, the deliveries of its messages
 * (message_recipients_domain, then deliveries_message_id) are read whole and sorted: at most
 * ~SMALL_DOMAIN rows in a TEMP B-TREE, the one plan with a sort. A route's delivery is among its
 * domain's messages' because routes fire only for recipients at their domain (src/inbound/plan.ts)
 * and never change domain.
 */
export function deliveryListQuery(f: DeliveryListFilter & { domainId?: string; smallDomain?: boolean }): {
  sql: string;
  params: Record<string, unknown>;
} {
  const params: Record<string, unknown> = { userId: f.userId, before: f.before ?? '\uffff', limit: f.limit };
  const by = seekOf(f);
  const where = ['d.id < @before'];
  if (isSet(f.messageId)) params.messageId = f.messageId;
  if (isSet(f.status)) {
    params.status = f.status;
    if (by !== 'status') where.push('+d.status = @status');
  }
  if (isSet(f.routeId)) {
    params.routeId = f.routeId;
    if (by !== 'route') where.push('+d.route_id = @routeId');
  }
  if (isSet(f.domainId)) {
    params.domainId = f.domainId;
    // Checked once, before the walk: a route of another domain lists nothing, however busy.
    if (isSet(f.routeId)) where.push('COALESCE((SELECT rt.domain_id = @domainId FROM routes rt WHERE rt.id = @routeId), 1)');
    // Read from the domain's messages, a delivery without a live route is under it already.
    where.push(by === 'domain' ? `COALESCE(${ROUTE_UNDER_DOMAIN}, 1)` : UNDER_DOMAIN);
  }
  return { sql: `SELECT d.* FROM ${SEEK[by]} AND ${where.join(' AND ')} ORDER BY d.id DESC LIMIT @limit`, params };
}

/** Prepares each list statement once, on first use. */
function listStatements(db: Db): (sql: string) => Database.Statement<Record<string, unknown>, Row> {
  const cache = new Map<string, Database.Statement<Record<string, unknown>, Row>>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) cache.set(sql, (statement = db.prepare<Record<string, unknown>, Row>(sql)));
    return statement;
  };
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
  lease: `UPDATE deliveries SET attempts = attempts + 1, next_attempt_at = @leaseUntil, updated_at = @now
     WHERE id = @id AND status = 'pending' AND next_attempt_at <= @now RETURNING *`,
} as const;

/** The concurrency key of a webhook URL: one slow host never holds up another. */
export function destinationOf(url: string): string {
  const u = new URL(url);
  return `${u.protocol}//${u.host}`;
}

export function deliveriesTable(db: Db) {
  const insert = db.prepare(
    `INSERT INTO deliveries (id, user_id, message_id, route_id, url, secret, dest, status, attempts, next_attempt_at, created_at, updated_at)
     VALUES (@id, @userId, @messageId, @routeId, @url, @secret, @dest, 'pending', 0, @now, @now, @now)`,
  );
  const byId = db.prepare<[string, string], Row>('SELECT * FROM deliveries WHERE id = ? AND user_id = ?');
  const byIdAny = db.prepare<[string], Row>('SELECT * FROM deliveries WHERE id = ?');
  const forMessage = db.prepare<[string], Row>('SELECT * FROM deliveries WHERE message_id = ? ORDER BY id');
  const pendingDests = db.prepare<[], { dest: string; next_at: number }>(QUEUE_SQL.pendingDestinations);
  const dueFor = db.prepare<{ dest: string; now: number; limit: number }, Row>(QUEUE_SQL.dueFor);
  const lease = db.prepare<{ id: string; now: number; leaseUntil: number }, Row>(QUEUE_SQL.lease);
  const startAttempt = db.prepare('INSERT INTO delivery_attempts (delivery_id, started_at) VALUES (@id, @now)');
  const endAttempt = db.prepare(
    `UPDATE delivery_attempts SET finished_at = @finishedAt, status_code = @statusCode, latency_ms = @latencyMs,
       response_body = @responseBody, error = @error WHERE id = @attemptId`,
  );
  const settle = db.prepare(
    `UPDATE deliveries SET status = @status, next_attempt_at = @nextAttemptAt, last_status = @statusCode,
       last_error = @error, updated_at = @finishedAt WHERE id = @deliveryId`,
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
  const requeue = db.prepare<{ id: string; userId: string; now: number }, Row>(
    `UPDATE deliveries SET status = 'pending', next_attempt_at = @now, updated_at = @now
     WHERE id = @id AND user_id = @userId RETURNING *`,
  );

  /** Records the attempts before the calls and leases the rows so no pass picks them meanwhile. */
  const claim = db.transaction((ids: string[], now: number, leaseUntil: number) => {
    const claimed: { delivery: Delivery; attemptId: number }[] = [];
    for (const id of ids) {
      const r = lease.get({ id, now, leaseUntil });
      if (r) claimed.push({ delivery: toDelivery(r), attemptId: Number(startAttempt.run({ id, now }).lastInsertRowid) });
    }
    return claimed;
  });
  const finish = db.transaction((deliveryId: string, attemptId: number, o: AttemptOutcome) => {
    endAttempt.run({ attemptId, ...o });
    settle.run({ deliveryId, ...o });
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
     WHERE status = 'pending' AND (
       route_id IN (SELECT id FROM routes WHERE domain_id = @domainId)
       OR (route_id IS NULL AND secret = @secret
           AND message_id IN (SELECT message_id FROM message_recipients WHERE domain_id = @domainId)))`,
  );

  return {
    /**
     * A domain is being deleted: its pending deliveries (its routes', and its catch-all's, known
     * by the catch-all's secret) end as failed, for messages that outlive it under another domain.
     */
    endForDomain(domainId: string, catchAllSecret: string | null, now: number): number {
      return endOfDomain.run({ domainId, secret: catchAllSecret, now }).changes;
    },
    /** Queues a delivery, due now. Call inside the transaction that stores the message. */
    insert(d: { id: string; userId: string; messageId: string; routeId: string | null; url: string; secret: string }, now: number): void {
      insert.run({ ...d, dest: destinationOf(d.url), now });
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
     * an attempt row, attempts + 1, next_attempt_at = leaseUntil. Returns the ones started.
     */
    claim(ids: string[], now: number, leaseUntil: number): { delivery: Delivery; attemptId: number }[] {
      return claim(ids, now, leaseUntil);
    },
    /** Finishes the attempt row and sets the delivery's fate, in one transaction. */
    finish(deliveryId: string, attemptId: number, outcome: AttemptOutcome): void {
      finish(deliveryId, attemptId, outcome);
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

/** Deliveries under one domain (see UNDER_DOMAIN): what an API key restricted to it may see. */
export function deliveriesOfDomain(db: Db) {
  const lists = listStatements(db);
  // Reads at most SMALL_DOMAIN entries of message_recipients_domain, without the rows.
  const recipientsUpTo = db.prepare<[string, number], { n: number }>(
    'SELECT count(*) AS n FROM (SELECT 1 FROM message_recipients WHERE domain_id = ? LIMIT ?)',
  );
  const byId = db.prepare<{ id: string; userId: string; domainId: string }, Row>(
    `SELECT d.* FROM deliveries d WHERE d.id = @id AND d.user_id = @userId AND ${UNDER_DOMAIN}`,
  );
  const forMessage = db.prepare<{ messageId: string; domainId: string }, Row>(
    `SELECT d.* FROM deliveries d WHERE d.message_id = @messageId AND ${UNDER_DOMAIN} ORDER BY d.id`,
  );
  return {
    /** The domain's deliveries, newest first, filtered; paginate with `before` = the last id. */
    list(f: DomainDeliveryListFilter): Delivery[] {
      const smallDomain = !isSet(f.messageId) && recipientsUpTo.get(f.domainId, SMALL_DOMAIN)!.n < SMALL_DOMAIN;
      const { sql, params } = deliveryListQuery({ ...f, smallDomain });
      return lists(sql).all(params).map(toDelivery);
    },
    /** The user's delivery if it is under the domain; null otherwise, as for a missing one. */
    get(userId: string, domainId: string, id: string): Delivery | null {
      const r = byId.get({ id, userId, domainId });
      return r ? toDelivery(r) : null;
    },
    /** A message's deliveries under the domain, oldest first. Not scoped: check the message first. */
    forMessage(messageId: string, domainId: string): Delivery[] {
      return forMessage.all({ messageId, domainId }).map(toDelivery);
    },
  };
}
