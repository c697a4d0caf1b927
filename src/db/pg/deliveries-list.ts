import { toDelivery, type Delivery } from '../deliveries.js';
import type { DeliveryListFilter, DomainDeliveryListFilter } from '../deliveries-list.js';
import { row, rows, type PgDb } from './db.js';

type Row = Parameters<typeof toDelivery>[0];

const isSet = <T>(v: T | null | undefined): v is T => v !== undefined && v !== null;

/**
 * The deliveries list with the filters of SQLite's deliveryListQuery (src/db/deliveries-list.ts),
 * newest first. Only the terms of the filters set are in the statement, and PostgreSQL plans it
 * with their values, so it picks the index (message, route, status, user) itself.
 */
export function pgDeliveryListQuery(f: DeliveryListFilter & { domainId?: string }): { sql: string; params: unknown[] } {
  const params: unknown[] = [f.userId, f.before ?? '\uffff'];
  const p = (v: unknown) => `$${params.push(v)}`;
  const where = ['d.user_id = $1', 'd.id < $2'];
  if (isSet(f.messageId)) where.push(`d.message_id = ${p(f.messageId)}`);
  if (isSet(f.status)) where.push(`d.status = ${p(f.status)}`);
  if (isSet(f.routeId)) where.push(`d.route_id = ${p(f.routeId)}`);
  if (isSet(f.domainId)) {
    const dom = p(f.domainId);
    // A route of another domain lists nothing (a deleted route: its deliveries' domain_id decides).
    if (isSet(f.routeId)) where.push(`COALESCE((SELECT rt.domain_id = ${dom} FROM routes rt WHERE rt.id = d.route_id), true)`);
    where.push(`d.domain_id = ${dom}`);
  }
  return { sql: `SELECT d.* FROM deliveries d WHERE ${where.join(' AND ')} ORDER BY d.id DESC LIMIT ${p(f.limit)}`, params };
}

/** Deliveries under one domain: what an API key restricted to it may see. */
export function deliveriesOfDomain(db: PgDb) {
  return {
    async list(f: DomainDeliveryListFilter): Promise<Delivery[]> {
      const { sql, params } = pgDeliveryListQuery(f);
      return (await rows<Row>(db, sql, params)).map(toDelivery);
    },
    async get(userId: string, domainId: string, id: string): Promise<Delivery | null> {
      const r = await row<Row>(db, 'SELECT d.* FROM deliveries d WHERE d.id = $1 AND d.user_id = $2 AND d.domain_id = $3', [id, userId, domainId]);
      return r ? toDelivery(r) : null;
    },
    async forMessage(messageId: string, domainId: string): Promise<Delivery[]> {
      return (await rows<Row>(db, 'SELECT d.* FROM deliveries d WHERE d.message_id = $1 AND d.domain_id = $2 ORDER BY d.id', [messageId, domainId])).map(toDelivery);
    },
  };
}
