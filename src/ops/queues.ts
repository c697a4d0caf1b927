import type { Db } from '../db/open.js';

/** One durable queue's backlog, as /metrics and `mailhook status` report it. */
export interface QueueReading {
  kind: string;
  /** Pending items: due, in flight (leased) or waiting for a retry. */
  depth: number;
  /** Pending and due now (an item in flight has its lease end as due time, so it is not counted). */
  due: number;
  /** The earliest due time among pending items, epoch ms; null when the queue is empty. */
  oldestDueAt: number | null;
  /** now - oldestDueAt when that is in the past, else 0. */
  oldestDueAgeMs: number;
}

export type QueueReader = (now: number) => QueueReading;

/**
 * The webhook queue: one pass over the pending range of deliveries_due (status, dest,
 * next_attempt_at), which covers the query; rows already delivered or failed are not read (the
 * plan is pinned by test/ops/status.test.ts).
 * Cost grows with the backlog only (README "Operations" has the measurement).
 */
export const WEBHOOK_QUEUE_SQL = `SELECT COUNT(*) AS depth, COALESCE(SUM(next_attempt_at <= @now), 0) AS due,
     MIN(next_attempt_at) AS oldest FROM deliveries WHERE status = 'pending'`;

export const webhookQueue = (db: Db): QueueReader => sqlQueue(db, 'webhook', WEBHOOK_QUEUE_SQL);

/**
 * The outbound queue (DESIGN §9): a recipient is pending while next_attempt_at is set (queued or
 * deferred; a claimed one has its lease end there), read from the partial index send_recipients_due.
 */
export const SEND_QUEUE_SQL = `SELECT COUNT(*) AS depth, COALESCE(SUM(next_attempt_at <= @now), 0) AS due,
     MIN(next_attempt_at) AS oldest FROM send_recipients WHERE next_attempt_at IS NOT NULL`;

/** The events about sends (email.sent, …) waiting for the sending domain's webhook, from send_events_due. */
export const SEND_EVENT_QUEUE_SQL = `SELECT COUNT(*) AS depth, COALESCE(SUM(next_attempt_at <= @now), 0) AS due,
     MIN(next_attempt_at) AS oldest FROM send_events WHERE status = 'pending'`;

/** Queue kinds, as /metrics labels them and `mailhook status` names them. */
export const QUEUE_KINDS = ['webhook', 'send', 'send_event'] as const;

function sqlQueue(db: Db, kind: (typeof QUEUE_KINDS)[number], sql: string): QueueReader {
  const stmt = db.prepare<{ now: number }, { depth: number; due: number; oldest: number | null }>(sql);
  return (now) => {
    const r = stmt.get({ now })!;
    return reading(kind, r.depth, r.due, r.oldest, now);
  };
}

export function reading(kind: string, depth: number, due: number, oldestDueAt: number | null, now: number): QueueReading {
  return { kind, depth, due, oldestDueAt, oldestDueAgeMs: oldestDueAt !== null && oldestDueAt < now ? now - oldestDueAt : 0 };
}

/** Every queue of this database: webhooks, outbound recipients, and the events about sends. */
export function queueReaders(db: Db): QueueReader[] {
  return [webhookQueue(db), sqlQueue(db, 'send', SEND_QUEUE_SQL), sqlQueue(db, 'send_event', SEND_EVENT_QUEUE_SQL)];
}
