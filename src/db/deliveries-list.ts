import type Database from 'better-sqlite3';
import { toDelivery, type Delivery, type DeliveryRow, type DeliveryStatus } from './deliveries.js';
import type { Db } from './open.js';

/**
 * Listing deliveries for the API: one statement per combination of filters (deliveryListQuery),
 * and the view of an API key restricted to one domain (deliveriesOfDomain).
 */

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
 * Whether delivery `d` is under domain @domainId: the domain recorded when it was queued, its
 * route's or the one whose catch-all it was, whether or not the route still exists. A row of an
 * older version the migration could not place (NULL) is under no domain.
 */
const UNDER_DOMAIN = 'd.domain_id = @domainId';

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
 * ~SMALL_DOMAIN rows in a TEMP B-TREE, the one plan with a sort. A delivery of the domain is
 * among its messages' because routes and catch-alls fire only for recipients at their own domain
 * (src/inbound/plan.ts).
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
    where.push(UNDER_DOMAIN);
  }
  return { sql: `SELECT d.* FROM ${SEEK[by]} AND ${where.join(' AND ')} ORDER BY d.id DESC LIMIT @limit`, params };
}

/** Prepares each list statement once, on first use. */
export function listStatements(db: Db): (sql: string) => Database.Statement<Record<string, unknown>, DeliveryRow> {
  const cache = new Map<string, Database.Statement<Record<string, unknown>, DeliveryRow>>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) cache.set(sql, (statement = db.prepare<Record<string, unknown>, DeliveryRow>(sql)));
    return statement;
  };
}

/** Deliveries under one domain (see UNDER_DOMAIN): what an API key restricted to it may see. */
export function deliveriesOfDomain(db: Db) {
  const lists = listStatements(db);
  // Reads at most SMALL_DOMAIN entries of message_recipients_domain, without the rows.
  const recipientsUpTo = db.prepare<[string, number], { n: number }>(
    'SELECT count(*) AS n FROM (SELECT 1 FROM message_recipients WHERE domain_id = ? LIMIT ?)',
  );
  const byId = db.prepare<{ id: string; userId: string; domainId: string }, DeliveryRow>(
    `SELECT d.* FROM deliveries d WHERE d.id = @id AND d.user_id = @userId AND ${UNDER_DOMAIN}`,
  );
  const forMessage = db.prepare<{ messageId: string; domainId: string }, DeliveryRow>(
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
