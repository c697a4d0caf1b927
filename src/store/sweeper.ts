import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
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
    const due = await repos.messages.unpurgedBefore(now - LINK_LIFETIME_MS + 1, BATCH);
    for (const m of due) {
      const atts = await repos.messages.attachments(m.id);
      const keys = atts.map((a) => a.blobKey);
      // Blobs kept in the database go with their rows, in one transaction (the `blobs` rows of a
      // deleted message by its cascade); only the others are objects to delete first.
      await Promise.all((await repos.blobs.external(keys)).map((k) => blobs.delete(k)));
      await repos.purgeAttachments(m.id, keys, now);
      result.attachmentsPurged += atts.length;
    }
    if (due.length < BATCH) break;
  }

  for (;;) {
    const due = await repos.messages.receivedBefore(now - deps.config.retentionDays * DAY_MS, BATCH);
    for (const m of due) {
      const keys = [m.rawKey, ...(await repos.messages.attachments(m.id)).map((a) => a.blobKey)];
      await Promise.all((await repos.blobs.external(keys)).map((k) => blobs.delete(k)));
      await repos.messages.delete(m.id);
      result.messagesDeleted++;
    }
    if (due.length < BATCH) break;
  }
  if (result.attachmentsPurged || result.messagesDeleted) {
    // Deleted inline blobs leave free pages: handed back so the file shrinks with retention.
    const pagesFreed = await releaseFreePages(deps);
    if (pagesFreed) deps.log.info('database pages released', { pagesFreed });
  }
  return result;
}

const VACUUM_STEP_PAGES = 1000;

/**
 * incremental_vacuum in steps of VACUUM_STEP_PAGES (4 MB at 4 KiB pages), yielding between
 * them: each step is a write transaction, and the mail path must not wait behind one long one.
 * A no-op on a database made without auto_vacuum=INCREMENTAL (src/db/open.ts): SQLite then
 * reuses the free pages for new rows, but the file does not shrink.
 */
export async function releaseFreePages(deps: Pick<Deps, 'db'>): Promise<number> {
  const { db } = deps;
  // SQLite only: another engine reclaims space its own way.
  if (!db || Number(db.pragma('auto_vacuum', { simple: true })) !== 2) return 0;
  let freed = 0;
  for (;;) {
    const before = Number(db.pragma('freelist_count', { simple: true }));
    if (before === 0) return freed;
    db.pragma(`incremental_vacuum(${VACUUM_STEP_PAGES})`);
    const after = Number(db.pragma('freelist_count', { simple: true }));
    freed += before - after;
    if (after >= before) return freed;
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Runs `sweep` now and every `intervalMs`; one sweep at a time. */
/** The lease row of the sweeper (schema `leases`): one node of a cluster sweeps at a time. */
export const SWEEPER_LEASE = 'sweeper';

/**
 * Who this process is in the `leases` table. On SQLite one process owns the file, so a fixed name:
 * a restarted process takes its lease straight back. On PostgreSQL, this host and process: after
 * a crash, another node takes over once the lease (1.5 × the interval) has run out.
 */
const holderOf = (deps: Deps) => (deps.repos.engine === 'sqlite' ? 'sqlite' : `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`);

export function startSweeper(deps: Deps, intervalMs = 60 * 60 * 1000): { stop(): void } {
  let running = false;
  const holder = holderOf(deps);
  const run = async () => {
    if (running) return;
    running = true;
    const startedAt = deps.now();
    // Kept in the database, so `mailhook status` and /metrics see it after a restart too.
    const record = async (r: SweepResult, error: unknown) => {
      try {
        await deps.repos.opsState.recordSweep({ startedAt, finishedAt: deps.now(), ok: !error, error: error ? String((error as Error).message ?? error) : null, ...r });
      } catch (err) {
        deps.log.warn('could not record the retention sweep', { err });
      }
    };
    let mine = false;
    try {
      // Another node holds the sweeper: it sweeps for everyone; this one asks again next interval.
      mine = await deps.repos.leases.acquire(SWEEPER_LEASE, holder, startedAt, intervalMs * 1.5);
    } catch (err) {
      deps.log.warn('retention sweep: could not take its lease', { err });
    }
    if (!mine) {
      running = false;
      return;
    }
    await sweep(deps)
      .then(
        async (r) => {
          if (r.attachmentsPurged || r.messagesDeleted) deps.log.info('retention sweep', { ...r });
          await record(r, null);
        },
        async (err: unknown) => {
          deps.log.error('retention sweep failed', { err });
          await record({ attachmentsPurged: 0, messagesDeleted: 0 }, err ?? 'failed');
        },
      )
      .finally(() => {
        running = false;
      });
  };
  void run();
  const timer = setInterval(() => void run(), intervalMs);
  timer.unref();
  return {
    stop() {
      clearInterval(timer);
      // A clean stop hands the sweeper to another node at once rather than after the lease.
      deps.repos.leases.release(SWEEPER_LEASE, holder).catch(() => undefined);
    },
  };
}
