import type { OpsSnapshot } from './snapshot.js';

const iso = (ms: number | null | undefined) => (ms ? new Date(ms).toISOString() : null);

/** `mailhook status`: the snapshot /metrics exports, as JSON an operator reads (times in ISO 8601 too). */
export function statusReport(s: OpsSnapshot) {
  return {
    at: iso(s.at),
    queues: Object.fromEntries(
      s.queues.map((q) => [
        q.kind,
        {
          depth: q.depth,
          due: q.due,
          oldest_due_at: iso(q.oldestDueAt),
          oldest_due_age_seconds: Math.round(q.oldestDueAgeMs / 1000),
        },
      ]),
    ),
    last_sweep: s.lastSweep && {
      started_at: iso(s.lastSweep.startedAt),
      finished_at: iso(s.lastSweep.finishedAt),
      ok: s.lastSweep.ok,
      error: s.lastSweep.error,
      attachments_purged: s.lastSweep.attachmentsPurged,
      messages_deleted: s.lastSweep.messagesDeleted,
      last_success_at: iso(s.lastSweep.lastSuccessAt),
    },
    database: { path: s.database.path, bytes: s.database.bytes, wal_bytes: s.database.walBytes },
  };
}
