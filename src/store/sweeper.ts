import type { Deps } from '../deps.js';
import { LINK_LIFETIME_MS } from './signed-links.js';

const DAY_MS = 24 * 60 * 60 * 1000;
const BATCH = 200;

export interface SweepResult {
  attachmentsPurged: number;
  messagesDeleted: number;
}

/**
 * Retention (DESIGN §3): attachment objects go when their links expire (7 days), messages and
 * raw MIME after RETENTION_DAYS. Objects are deleted before the row that names them is
 * updated, so a sweep cut short anywhere is finished by the next one.
 */
export async function sweep(deps: Deps): Promise<SweepResult> {
  const { repos, blobs } = deps;
  const now = deps.now();
  const result: SweepResult = { attachmentsPurged: 0, messagesDeleted: 0 };

  for (;;) {
    // A link is 410 from received_at + 7 days exactly; the query is `received_at < cutoff`, hence + 1.
    const due = repos.messages.unpurgedBefore(now - LINK_LIFETIME_MS + 1, BATCH);
    for (const m of due) {
      const atts = repos.messages.attachments(m.id);
      await Promise.all(atts.map((a) => blobs.delete(a.blobKey)));
      repos.messages.markPurged(m.id, now);
      result.attachmentsPurged += atts.length;
    }
    if (due.length < BATCH) break;
  }

  for (;;) {
    const due = repos.messages.receivedBefore(now - deps.config.retentionDays * DAY_MS, BATCH);
    for (const m of due) {
      const keys = [m.rawKey, ...repos.messages.attachments(m.id).map((a) => a.blobKey)];
      await Promise.all(keys.map((k) => blobs.delete(k)));
      repos.messages.delete(m.id);
      result.messagesDeleted++;
    }
    if (due.length < BATCH) break;
  }
  return result;
}

/** Runs `sweep` now and every `intervalMs`; one sweep at a time. */
export function startSweeper(deps: Deps, intervalMs = 60 * 60 * 1000): { stop(): void } {
  let running = false;
  const run = () => {
    if (running) return;
    running = true;
    const startedAt = deps.now();
    // Kept in the database, so `mailhook status` and /metrics see it after a restart too.
    const record = (r: SweepResult, error: unknown) => {
      try {
        deps.repos.opsState.recordSweep({ startedAt, finishedAt: deps.now(), ok: !error, error: error ? String((error as Error).message ?? error) : null, ...r });
      } catch (err) {
        deps.log.warn('could not record the retention sweep', { err });
      }
    };
    sweep(deps)
      .then((r) => {
        record(r, null);
        if (r.attachmentsPurged || r.messagesDeleted) deps.log.info('retention sweep', { ...r });
      })
      .catch((err) => {
        record({ attachmentsPurged: 0, messagesDeleted: 0 }, err ?? 'failed');
        deps.log.error('retention sweep failed', { err });
      })
      .finally(() => {
        running = false;
      });
  };
  run();
  const timer = setInterval(run, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
