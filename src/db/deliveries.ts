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
  return {
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
  };
}
