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

export function webhookQueue(db: Db): QueueReader {
  const stmt = db.prepare<{ now: number }, { depth: number; due: number; oldest: number | null }>(WEBHOOK_QUEUE_SQL);
  return (now) => {
    const r = stmt.get({ now })!;
    return reading('webhook', r.depth, r.due, r.oldest, now);
  };
}

export function reading(kind: string, depth: number, due: number, oldestDueAt: number | null, now: number): QueueReading {
  return { kind, depth, due, oldestDueAt, oldestDueAgeMs: oldestDueAt !== null && oldestDueAt < now ? now - oldestDueAt : 0 };
}

/** Every queue of this database. A new queue (outbound sends) adds its reader here. */
export function queueReaders(db: Db): QueueReader[] {
  return [webhookQueue(db)];
}
