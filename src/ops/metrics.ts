import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { OpsSnapshot } from './snapshot.js';

/**
 * Every Prometheus metric of Mailhook, in one registry per process (not prom-client's global
 * one, so tests can run several servers side by side). Parts call into these; label values come
 * from short fixed lists only (reply class, outcome, queue kind, blob operation), never from an
 * address, a URL or an id, so the series count stays bounded.
 *
 * Queue kinds: `webhook` (deliveries), `send` (outbound recipients: one attempt is one SMTP
 * transaction), `send_event` (the email.sent/… webhooks about sends); readers in src/ops/queues.ts.
 */
export type AttemptOutcomeLabel = 'delivered' | 'retry' | 'failed';
export type QueueKindLabel = 'webhook' | 'send' | 'send_event';
/** What an attempt (or a DSN) made of an outbound recipient. */
export type SendStatusLabel = 'sent' | 'deferred' | 'bounced' | 'failed';
/** Why RCPT TO got its reply (src/smtp/accept-recipient.ts). */
export type RcptReason = 'accepted' | 'bounce_address' | 'unknown_domain' | 'blocked_sender' | 'no_route' | 'rejected_by_route' | 'error';
export type BlobOp = 'put' | 'get' | 'delete' | 'check' | 'presign';

export function createMetrics() {
  const registry = new Registry();
  const on = { registers: [registry] };
  const m = {
    registry,
    smtpConnections: new Counter({
      ...on,
      name: 'mailhook_smtp_connections_total',
      help: 'SMTP connections, by whether they got the banner or a 421 (per-IP cap, shutting down)',
      labelNames: ['result'] as const,
    }),
    smtpTransactions: new Counter({
      ...on,
      name: 'mailhook_smtp_transactions_total',
      help: 'SMTP transactions (the reply to DATA), by reply code class',
      labelNames: ['class'] as const,
    }),
    smtpRecipients: new Counter({
      ...on,
      name: 'mailhook_smtp_recipients_total',
      help: 'RCPT TO replies, by code and reason (accepted, bounce_address, unknown_domain, blocked_sender, no_route, rejected_by_route, error)',
      labelNames: ['code', 'reason'] as const,
    }),
    smtpBytes: new Counter({ ...on, name: 'mailhook_smtp_received_bytes_total', help: 'Bytes received in DATA' }),
    messagesStored: new Counter({ ...on, name: 'mailhook_messages_stored_total', help: 'Messages stored (one per account copy)' }),
    parseErrors: new Counter({
      ...on,
      name: 'mailhook_parse_errors_total',
      help: 'Messages whose MIME could not be parsed fully (stored as-is with parse_error)',
    }),
    commitBatchSize: new Histogram({
      ...on,
      name: 'mailhook_group_commit_batch_size',
      help: 'Writes per group commit (src/db/group-commit.ts)',
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
    }),
    commitSeconds: new Histogram({
      ...on,
      name: 'mailhook_group_commit_seconds',
      help: 'One group commit, from BEGIN until its WAL fsync returned',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    }),
    attempts: new Counter({
      ...on,
      name: 'mailhook_attempts_total',
      help: 'Delivery attempts, by queue and what became of the delivery (delivered, retry later, failed for good)',
      labelNames: ['kind', 'outcome'] as const,
    }),
    attemptSeconds: new Histogram({
      ...on,
      name: 'mailhook_attempt_duration_seconds',
      help: 'Duration of one delivery attempt (request sent until answer, error or timeout)',
      labelNames: ['kind'] as const,
      buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    }),
    sendRecipients: new Counter({
      ...on,
      name: 'mailhook_send_recipients_total',
      help: 'Outbound recipients by what an attempt or a later DSN made of them: sent, deferred (retried later), bounced, failed (retries spent)',
      labelNames: ['status'] as const,
    }),
    blobErrors: new Counter({
      ...on,
      name: 'mailhook_blob_store_errors_total',
      help: 'Failed blob store calls (a missing object is not an error), by operation',
      labelNames: ['op'] as const,
    }),
    queueDepth: new Gauge({
      ...on,
      name: 'mailhook_queue_depth',
      help: 'Pending items (due now, in flight or scheduled for a retry), read at scrape time',
      labelNames: ['kind'] as const,
    }),
    queueDue: new Gauge({ ...on, name: 'mailhook_queue_due', help: 'Pending items due now and not in flight', labelNames: ['kind'] as const }),
    queueOldestDueAge: new Gauge({
      ...on,
      name: 'mailhook_queue_oldest_due_age_seconds',
      help: 'How long the oldest due item has waited past its due time (0 when nothing is due)',
      labelNames: ['kind'] as const,
    }),
    lastSweep: new Gauge({
      ...on,
      name: 'mailhook_sweep_last_success_timestamp_seconds',
      help: 'When the retention sweep last finished without error (0: never)',
    }),
    databaseBytes: new Gauge({ ...on, name: 'mailhook_database_bytes', help: 'SQLite database file plus its WAL' }),
  };
  let processMetrics = false;
  return {
    ...m,
    /** prom-client's process_* and nodejs_* metrics, event-loop lag included; once, by main.ts. */
    collectProcessMetrics() {
      if (processMetrics) return;
      processMetrics = true;
      collectDefaultMetrics({ register: registry });
    },
    /** The text exposition, with the gauges set from a snapshot read now. */
    async render(snapshot: OpsSnapshot): Promise<string> {
      for (const q of snapshot.queues) {
        m.queueDepth.set({ kind: q.kind }, q.depth);
        m.queueDue.set({ kind: q.kind }, q.due);
        m.queueOldestDueAge.set({ kind: q.kind }, q.oldestDueAgeMs / 1000);
      }
      m.lastSweep.set(snapshot.lastSweep?.lastSuccessAt ? snapshot.lastSweep.lastSuccessAt / 1000 : 0);
      m.databaseBytes.set(snapshot.database.bytes + snapshot.database.walBytes);
      return registry.metrics();
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

export const replyClass = (code: number) => `${Math.floor(code / 100)}xx`;
