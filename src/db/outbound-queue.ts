import type { Db } from './open.js';
import { LEASE_EXPIRED } from './deliveries.js';
import { toRecipient, type Recipient, type RecipientStatus } from './sends.js';

/** What became of one recipient after an attempt, as the worker decided. */
export interface RecipientOutcome {
  finishedAt: number;
  mx: string | null;
  code: number | null;
  reply: string | null;
  error: string | null;
  status: RecipientStatus;
  /** Set while the recipient is to be tried again. */
  nextAttemptAt: number | null;
}

export interface NewEvent {
  id: string;
  userId: string;
  sendId: string;
  type: string;
  url: string;
  secret: string;
  body: string;
  /**
   * Set when the caller posts the event itself right after the commit (the worker's hand-off,
   * issue 12): the row is written already leased until then, its first attempt counted, as
   * leaseEvent() would leave it, so no pass reads it back and no other node takes it meanwhile.
   * If the post never finishes (a crash), the event is due again when the lease runs out.
   */
  leaseUntil?: number;
}

export interface SendEvent extends NewEvent {
  attempts: number;
}

/** The end of one attempt at posting an event. */
export interface EventFinish {
  id: string;
  finishedAt: number;
  statusCode: number | null;
  error: string | null;
  status: string;
  nextAttemptAt: number | null;
}

/** The pass's reads, exported for the plan test (test/db/outbound-queue.test.ts). */
export const OUTBOUND_QUEUE_SQL = {
  // Each destination with its earliest next_attempt_at, by seeks in send_recipients_due: from one
  // destination to the next, and the first row of each (as deliveries' QUEUE_SQL does). The GROUP
  // BY it replaces read every pending row, the leased ones in flight included (hundreds at one
  // busy MX), on every pass (issue 12).
  pendingDestinations: `WITH RECURSIVE dests(dest) AS (
       SELECT MIN(dest) FROM send_recipients WHERE next_attempt_at IS NOT NULL
       UNION ALL
       SELECT (SELECT r.dest FROM send_recipients r WHERE r.next_attempt_at IS NOT NULL AND r.dest > dests.dest ORDER BY r.dest LIMIT 1)
       FROM dests WHERE dests.dest IS NOT NULL
     )
     SELECT dest, (SELECT r.next_attempt_at FROM send_recipients r WHERE r.dest = dests.dest AND r.next_attempt_at IS NOT NULL
                   ORDER BY r.next_attempt_at LIMIT 1) AS next_at
     FROM dests WHERE dest IS NOT NULL`,
  dueFor: `SELECT * FROM send_recipients WHERE dest = @dest AND next_attempt_at IS NOT NULL AND next_attempt_at <= @now
     ORDER BY next_attempt_at LIMIT @limit`,
};

/**
 * The outbound queue's statements: send_recipients is the queue (due while next_attempt_at is
 * set and has passed), send_attempts the log, send_events the webhook queue of its events.
 */
export function outboundQueue(db: Db) {
  const pendingDests = db.prepare<[], { dest: string; next_at: number }>(OUTBOUND_QUEUE_SQL.pendingDestinations);
  const dueFor = db.prepare<{ dest: string; now: number; limit: number }, Parameters<typeof toRecipient>[0]>(OUTBOUND_QUEUE_SQL.dueFor);
  const lease = db.prepare<{ id: string; now: number; leaseUntil: number }, Parameters<typeof toRecipient>[0]>(
    `UPDATE send_recipients SET attempts = attempts + 1, next_attempt_at = @leaseUntil, updated_at = @now
     WHERE id = @id AND next_attempt_at IS NOT NULL AND next_attempt_at <= @now RETURNING *`,
  );
  const startAttempt = db.prepare('INSERT INTO send_attempts (recipient_id, started_at) VALUES (@id, @now)');
  const closeOpen = db.prepare('UPDATE send_attempts SET finished_at = @now, error = @error WHERE recipient_id = @id AND finished_at IS NULL');
  const endAttempt = db.prepare(
    `UPDATE send_attempts SET finished_at = @finishedAt, mx = @mx, code = @code, reply = @reply, error = @error
     WHERE id = @attemptId AND finished_at IS NULL`,
  );
  const settle = db.prepare(
    `UPDATE send_recipients SET status = @status, next_attempt_at = @nextAttemptAt, last_code = @code, last_reply = @reply,
       updated_at = @finishedAt WHERE id = @recipientId`,
  );
  const unfinished = db.prepare<[], { id: number; recipient_id: string }>(
    `SELECT a.id, a.recipient_id FROM send_recipients r JOIN send_attempts a ON a.recipient_id = r.id
     WHERE r.next_attempt_at IS NOT NULL AND a.finished_at IS NULL`,
  );
  const interrupt = db.prepare('UPDATE send_attempts SET finished_at = @now, error = @error WHERE id = @id');
  const dueNow = db.prepare('UPDATE send_recipients SET next_attempt_at = @now, updated_at = @now WHERE id = @id AND next_attempt_at IS NOT NULL');
  const insertEvent = db.prepare(
    `INSERT INTO send_events (id, user_id, send_id, type, url, secret, body, status, attempts, next_attempt_at, created_at, updated_at)
     VALUES (@id, @userId, @sendId, @type, @url, @secret, @body, 'pending', @attempts, @nextAt, @now, @now)`,
  );
  const dueEvents = db.prepare<{ now: number; limit: number }, { id: string; user_id: string; send_id: string; type: string; url: string; secret: string; body: string; attempts: number }>(
    `SELECT id, user_id, send_id, type, url, secret, body, attempts FROM send_events
     WHERE status = 'pending' AND next_attempt_at <= @now ORDER BY next_attempt_at LIMIT @limit`,
  );
  const nextEvent = db.prepare<[], { at: number | null }>("SELECT MIN(next_attempt_at) AS at FROM send_events WHERE status = 'pending'");
  const leaseEvent = db.prepare(
    `UPDATE send_events SET attempts = attempts + 1, next_attempt_at = @leaseUntil, updated_at = @now
     WHERE id = @id AND status = 'pending' AND next_attempt_at <= @now`,
  );
  const finishEvent = db.prepare(
    `UPDATE send_events SET status = @status, next_attempt_at = @nextAttemptAt, last_status = @statusCode, last_error = @error,
       updated_at = @finishedAt WHERE id = @id`,
  );

  const bounce = db.prepare(
    `UPDATE send_recipients SET status = 'bounced', next_attempt_at = NULL, last_code = @code, last_reply = @reply, updated_at = @at WHERE id = @id`,
  );
  const logDsn = db.prepare(
    `INSERT INTO send_attempts (recipient_id, started_at, finished_at, mx, code, reply, error) VALUES (@id, @at, @at, 'dsn', @code, @reply, NULL)`,
  );

  const retry = db.prepare(
    `UPDATE send_recipients SET status = CASE WHEN status = 'failed' THEN 'deferred' ELSE status END, next_attempt_at = @now, updated_at = @now
     WHERE send_id = @sendId AND status IN ('queued', 'deferred', 'failed') AND (next_attempt_at IS NULL OR next_attempt_at > @now)`,
  );

  return {
    /** Makes the send's undelivered recipients (queued, deferred, failed) due now; sent, bounced and suppressed ones stay. */
    retryNow(sendId: string, now: number): number {
      return retry.run({ sendId, now }).changes;
    },
    /** A later DSN reported the recipient failed: final, and logged as an attempt row from 'dsn'. */
    markBounced(id: string, r: { at: number; code: number | null; reply: string }): void {
      bounce.run({ id, ...r });
      logDsn.run({ id, ...r });
    },
    pendingDestinations(): { dest: string; nextAt: number }[] {
      return pendingDests.all().map((r) => ({ dest: r.dest, nextAt: r.next_at }));
    },
    dueFor(dest: string, now: number, limit: number): Recipient[] {
      return dueFor.all({ dest, now, limit }).map(toRecipient);
    },
    /** Leases each recipient still due and writes its attempt row, in one transaction: durable before the connection. */
    claim: db.transaction((ids: string[], now: number, leaseUntil: number) => {
      const claimed: { recipient: Recipient; attemptId: number }[] = [];
      for (const id of ids) {
        const r = lease.get({ id, now, leaseUntil });
        if (!r) continue;
        // Its lease ran out: taken over (see deliveries). A first attempt has no attempt row to close.
        if (r.attempts > 1) closeOpen.run({ id, now, error: LEASE_EXPIRED });
        claimed.push({ recipient: toRecipient(r), attemptId: Number(startAttempt.run({ id, now }).lastInsertRowid) });
      }
      return claimed;
    }),
    /**
     * Call inside the transaction that also records any suppression and events of the outcome.
     * Fenced by the attempt: false, nothing written, when it was already closed (see deliveries).
     */
    finish(recipientId: string, attemptId: number, o: RecipientOutcome): boolean {
      if (endAttempt.run({ attemptId, ...o }).changes === 0) return false;
      settle.run({ recipientId, ...o });
      return true;
    },
    /** After a crash: attempts left open are closed with `error`, their recipients due now. */
    recoverInterrupted: db.transaction((now: number, error: string) => {
      const rows = unfinished.all();
      for (const r of rows) {
        interrupt.run({ id: r.id, now, error });
        dueNow.run({ id: r.recipient_id, now });
      }
      return rows.length;
    }),
    insertEvent(e: NewEvent, now: number): void {
      const leased = e.leaseUntil !== undefined;
      insertEvent.run({ id: e.id, userId: e.userId, sendId: e.sendId, type: e.type, url: e.url, secret: e.secret, body: e.body, now, attempts: leased ? 1 : 0, nextAt: leased ? e.leaseUntil : now });
    },
    dueEvents(now: number, limit: number): SendEvent[] {
      return dueEvents
        .all({ now, limit })
        .map((r) => ({ id: r.id, userId: r.user_id, sendId: r.send_id, type: r.type, url: r.url, secret: r.secret, body: r.body, attempts: r.attempts }));
    },
    nextEventAt(): number | null {
      return nextEvent.get()?.at ?? null;
    },
    leaseEvent(id: string, now: number, leaseUntil: number): boolean {
      return leaseEvent.run({ id, now, leaseUntil }).changes > 0;
    },
    finishEvent(id: string, o: Omit<EventFinish, 'id'>): void {
      finishEvent.run({ id, ...o });
    },
    /** Attempts that ended together; the repository runs them in one write of the group commit. */
    finishEvents(finishes: EventFinish[]): void {
      for (const f of finishes) finishEvent.run(f);
    },
  };
}
