import type { EventFinish, NewEvent, RecipientOutcome, SendEvent } from '../outbound-queue.js';
import { toRecipient, type Recipient } from '../sends.js';
import { LEASE_EXPIRED } from '../deliveries.js';
import { changes, row, rows, type PgDb } from './db.js';

type RecipientRow = Parameters<typeof toRecipient>[0];

/**
 * The outbound queue on PostgreSQL: send_recipients is the queue, leased and fenced like
 * deliveries (see deliveries.ts): claims under FOR UPDATE SKIP LOCKED, an attempt a dead node left
 * open closed by the next claim, finish() false once its attempt was closed that way.
 */
export function outboundQueue(db: PgDb) {
  return {
    retryNow(sendId: string, now: number): Promise<number> {
      return changes(
        db,
        `UPDATE send_recipients SET status = CASE WHEN status = 'failed' THEN 'deferred' ELSE status END, next_attempt_at = $2, updated_at = $2
         WHERE send_id = $1 AND status IN ('queued', 'deferred', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at > $2)`,
        [sendId, now],
      );
    },
    markBounced(id: string, r: { at: number; code: number | null; reply: string }): Promise<void> {
      return db.tx(async (t) => {
        await t.query(
          `UPDATE send_recipients SET status = 'bounced', next_attempt_at = NULL, last_code = $2, last_reply = $3, updated_at = $4 WHERE id = $1`,
          [id, r.code, r.reply, r.at],
        );
        await t.query(
          `INSERT INTO send_attempts (recipient_id, started_at, finished_at, mx, code, reply, error) VALUES ($1, $4, $4, 'dsn', $2, $3, NULL)`,
          [id, r.code, r.reply, r.at],
        );
      });
    },
    async pendingDestinations(): Promise<{ dest: string; nextAt: number }[]> {
      const rs = await rows<{ dest: string; next_at: number }>(
        db,
        'SELECT dest, MIN(next_attempt_at) AS next_at FROM send_recipients WHERE next_attempt_at IS NOT NULL GROUP BY dest',
      );
      return rs.map((r) => ({ dest: r.dest, nextAt: r.next_at }));
    },
    async dueFor(dest: string, now: number, limit: number): Promise<Recipient[]> {
      const rs = await rows<RecipientRow>(
        db,
        `SELECT * FROM send_recipients WHERE dest = $1 AND next_attempt_at IS NOT NULL AND next_attempt_at <= $2 ORDER BY next_attempt_at LIMIT $3`,
        [dest, now, limit],
      );
      return rs.map(toRecipient);
    },
    claim(ids: string[], now: number, leaseUntil: number): Promise<{ recipient: Recipient; attemptId: number }[]> {
      if (!ids.length) return Promise.resolve([]);
      return db.tx(async (t) => {
        const leased = await rows<RecipientRow>(
          t,
          `UPDATE send_recipients r SET attempts = r.attempts + 1, next_attempt_at = $3, updated_at = $2
           FROM (SELECT id FROM send_recipients WHERE id = ANY($1::text[]) AND next_attempt_at IS NOT NULL AND next_attempt_at <= $2
                 ORDER BY id FOR UPDATE SKIP LOCKED) due
           WHERE r.id = due.id RETURNING r.*`,
          [ids, now, leaseUntil],
        );
        if (!leased.length) return [];
        const got = leased.map((r) => r.id);
        await t.query('UPDATE send_attempts SET finished_at = $2, error = $3 WHERE recipient_id = ANY($1::text[]) AND finished_at IS NULL', [
          got, now, LEASE_EXPIRED,
        ]);
        const attempts = await rows<{ id: number; recipient_id: string }>(
          t,
          'INSERT INTO send_attempts (recipient_id, started_at) SELECT unnest($1::text[]), $2 RETURNING id, recipient_id',
          [got, now],
        );
        const attemptOf = new Map(attempts.map((a) => [a.recipient_id, a.id]));
        const byId = new Map(leased.map((r) => [r.id, toRecipient(r)]));
        return ids.filter((id) => byId.has(id)).map((id) => ({ recipient: byId.get(id)!, attemptId: attemptOf.get(id)! }));
      });
    },
    /** Fenced by the attempt: false, nothing written, when another node took the recipient over. */
    finish(recipientId: string, attemptId: number, o: RecipientOutcome): Promise<boolean> {
      return db.tx(async (t) => {
        await t.query('SELECT 1 FROM send_recipients WHERE id = $1 FOR UPDATE', [recipientId]);
        const ended = await changes(
          t,
          `UPDATE send_attempts SET finished_at = $3, mx = $4, code = $5, reply = $6, error = $7
           WHERE id = $1 AND recipient_id = $2 AND finished_at IS NULL`,
          [attemptId, recipientId, o.finishedAt, o.mx, o.code, o.reply, o.error],
        );
        if (!ended) return false;
        await t.query(
          `UPDATE send_recipients SET status = $2, next_attempt_at = $3, last_code = $4, last_reply = $5, updated_at = $6 WHERE id = $1`,
          [recipientId, o.status, o.nextAttemptAt, o.code, o.reply, o.finishedAt],
        );
        return true;
      });
    },
    /** Closes attempts whose lease ran out (never one still leased: a live node's) with `error`. */
    recoverInterrupted(now: number, error: string): Promise<number> {
      return db.tx(async (t) => {
        const expired = await rows<{ id: string }>(
          t,
          `SELECT r.id FROM send_recipients r WHERE r.next_attempt_at IS NOT NULL AND r.next_attempt_at <= $1
             AND EXISTS (SELECT 1 FROM send_attempts a WHERE a.recipient_id = r.id AND a.finished_at IS NULL)
           FOR UPDATE SKIP LOCKED`,
          [now],
        );
        if (!expired.length) return 0;
        return changes(t, 'UPDATE send_attempts SET finished_at = $2, error = $3 WHERE recipient_id = ANY($1::text[]) AND finished_at IS NULL', [
          expired.map((r) => r.id), now, error,
        ]);
      });
    },
    async insertEvent(e: NewEvent, now: number): Promise<void> {
      await db.query(
        `INSERT INTO send_events (id, user_id, send_id, type, url, secret, body, status, attempts, next_attempt_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $9, $10, $8, $8)`,
        [e.id, e.userId, e.sendId, e.type, e.url, e.secret, e.body, now, e.leaseUntil !== undefined ? 1 : 0, e.leaseUntil ?? now],
      );
    },
    async dueEvents(now: number, limit: number): Promise<SendEvent[]> {
      const rs = await rows<{ id: string; user_id: string; send_id: string; type: string; url: string; secret: string; body: string; attempts: number }>(
        db,
        `SELECT id, user_id, send_id, type, url, secret, body, attempts FROM send_events
         WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2`,
        [now, limit],
      );
      return rs.map((r) => ({ id: r.id, userId: r.user_id, sendId: r.send_id, type: r.type, url: r.url, secret: r.secret, body: r.body, attempts: r.attempts }));
    },
    async nextEventAt(): Promise<number | null> {
      return (await row<{ at: number | null }>(db, "SELECT MIN(next_attempt_at) AS at FROM send_events WHERE status = 'pending'"))?.at ?? null;
    },
    /** One conditional UPDATE: of nodes leasing one event at once, exactly one gets it. */
    async leaseEvent(id: string, now: number, leaseUntil: number): Promise<boolean> {
      return (
        (await changes(
          db,
          `UPDATE send_events SET attempts = attempts + 1, next_attempt_at = $3, updated_at = $2
           WHERE id = $1 AND status = 'pending' AND next_attempt_at <= $2`,
          [id, now, leaseUntil],
        )) > 0
      );
    },
    /** Attempts that ended together: one statement. */
    async finishEvents(finishes: EventFinish[]): Promise<void> {
      if (finishes.length === 0) return;
      await db.query(
        `UPDATE send_events e SET status = v.status, next_attempt_at = v.next_at, last_status = v.code, last_error = v.error, updated_at = v.at
         FROM unnest($1::text[], $2::text[], $3::bigint[], $4::int[], $5::text[], $6::bigint[]) AS v(id, status, next_at, code, error, at)
         WHERE e.id = v.id`,
        [
          finishes.map((f) => f.id), finishes.map((f) => f.status), finishes.map((f) => f.nextAttemptAt), finishes.map((f) => f.statusCode),
          finishes.map((f) => f.error), finishes.map((f) => f.finishedAt),
        ],
      );
    },
    async finishEvent(id: string, o: Omit<EventFinish, 'id'>): Promise<void> {
      await db.query(
        `UPDATE send_events SET status = $2, next_attempt_at = $3, last_status = $4, last_error = $5, updated_at = $6 WHERE id = $1`,
        [id, o.status, o.nextAttemptAt, o.statusCode, o.error, o.finishedAt],
      );
    },
  };
}
