import { performance } from 'node:perf_hooks';
import type { Db } from './open.js';
import { backgroundCheckpoints } from './checkpoint-thread.js';
import { fsyncOnThread } from './sync-thread.js';

/**
 * Group commit for the hot path (storing mail, claiming and finishing webhook attempts).
 *
 * Writes queued during one turn of the event loop run in one transaction; one that throws is
 * rolled back alone and rejects alone (the batch is then run again, each write in a savepoint). Durability is that of
 * synchronous=FULL, the fsync is only moved off the event loop: the batch commits with
 * synchronous=NORMAL (the WAL frames reach the OS, no fsync on the main thread), then the WAL
 * file is fsync'd on a thread of its own (sync-thread.ts), and only after that fsync returns
 * does any promise of the batch resolve. Batches committed while an fsync runs share the next
 * one. This is the "equivalent fsync" of DESIGN §1 invariant 1: a 250 still waits for its rows
 * to be on disk. (SQLite keeps the WAL consistent itself at NORMAL: it syncs the WAL before
 * every checkpoint and its header when the WAL is reused.) Every other writer of the
 * connection keeps synchronous=FULL.
 */
export interface GroupCommit {
  run<T>(write: () => T): Promise<T>;
}

/** The batch committed but the fsync that makes it durable failed: the rows are in the database, maybe not on disk. */
export class NotDurableError extends Error {
  readonly committed = true;
  constructor(cause: unknown) {
    super(`commit not made durable: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

interface Pending {
  write: () => unknown;
  resolve(value: unknown): void;
  reject(err: unknown): void;
}

const byDb = new WeakMap<Db, GroupCommit>();
/** Told of every batch once it settled: its number of writes and seconds from BEGIN to fsync done. */
export type CommitObserver = (writes: number, seconds: number) => void;
const observers = new WeakMap<Db, CommitObserver>();

/** For /metrics (src/ops/metrics.ts): group-commit.ts itself knows nothing of Prometheus. */
export function observeCommits(db: Db, observer: CommitObserver): void {
  observers.set(db, observer);
}
const CHECKPOINT_EVERY_MS = 500;

/** The group commit of `db` (one per connection: its batches must not interleave). */
export function groupCommit(db: Db): GroupCommit {
  let gc = byDb.get(db);
  if (!gc) byDb.set(db, (gc = createGroupCommit(db)));
  return gc;
}

/** fsync of the WAL file, coalesced: callers arriving while one runs share the next one. */
function walSyncer(db: Db) {
  let running = false;
  const waiting: { resolve(): void; reject(err: unknown): void }[] = [];

  const start = () => {
    const batch = waiting.splice(0);
    running = true;
    // Opened per round, not kept: no descriptor outlives the connection or pins an old file.
    // On a thread of its own: see sync-thread.ts.
    fsyncOnThread(`${db.name}-wal`).then(
      () => batch.forEach((w) => w.resolve()),
      (err: unknown) => batch.forEach((w) => w.reject(err)),
    ).finally(() => {
      running = false;
      if (waiting.length) start();
    });
  };

  return {
    /** Resolves once everything committed before the call is on disk. */
    sync(): Promise<void> {
      return new Promise((resolve, reject) => {
        waiting.push({ resolve, reject });
        if (!running) start();
      });
    },
  };
}

function createGroupCommit(db: Db): GroupCommit {
  let queue: Pending[] = [];
  let scheduled = false;
  // While a batch's fsync runs, new writes wait for it rather than commit on their own: under
  // load each commit then carries everything that arrived during one fsync, and the hot pages
  // (index tails) are written to the WAL once per batch instead of once per few messages.
  let syncing = false;
  const schedule = () => {
    if (scheduled || syncing || queue.length === 0) return;
    scheduled = true;
    setImmediate(flush);
  };
  // In-memory and non-WAL databases: plain synchronous commits.
  const wal = !db.memory && String(db.pragma('journal_mode', { simple: true })).toLowerCase() === 'wal';
  const syncer = wal ? walSyncer(db) : null;
  const normal = wal ? db.prepare('PRAGMA synchronous = NORMAL') : null;
  const full = wal ? db.prepare('PRAGMA synchronous = FULL') : null;
  // Checkpoints run on a background thread (checkpoint-thread.ts), asked for at most every
  // CHECKPOINT_EVERY_MS while batches commit; SQLite's automatic one, raised tenfold, only
  // steps in if that thread falls behind.
  let lastCheckpoint = 0;
  const checkpoints = wal ? backgroundCheckpoints(db.name) : null;
  if (checkpoints) {
    const auto = Number(db.pragma('wal_autocheckpoint', { simple: true }));
    if (auto > 0) db.pragma(`wal_autocheckpoint = ${auto * 10}`);
    const close = db.close.bind(db);
    db.close = () => {
      checkpoints.stop();
      return close();
    };
  }

  const flush = () => {
    scheduled = false;
    const batch = queue;
    queue = [];
    const began = performance.now();
    const outcomes: ({ ok: true; value: unknown } | { ok: false; err: unknown })[] = [];
    try {
      normal?.run();
      try {
        // Writes almost never throw: the batch first runs bare, no savepoint per write (two
        // statements fewer each). If one throws, SQLite rolls that whole attempt back and the
        // batch runs again with a savepoint per write, so the one that throws is rolled back
        // alone and rejects alone. (A write is only statements on this connection: running it
        // again after the rollback does the same.)
        let threw = false;
        try {
          db.transaction(() => {
            for (const p of batch) {
              try {
                outcomes.push({ ok: true, value: p.write() });
              } catch (err) {
                threw = true;
                throw err;
              }
            }
          })();
        } catch (err) {
          if (!threw) throw err; // the COMMIT itself
          outcomes.length = 0;
          db.transaction(() => {
            for (const p of batch) {
              try {
                // A nested better-sqlite3 transaction is a SAVEPOINT: rolled back alone if it throws.
                outcomes.push({ ok: true, value: db.transaction(p.write)() });
              } catch (err) {
                outcomes.push({ ok: false, err });
              }
            }
          })();
        }
      } finally {
        full?.run();
      }
    } catch (err) {
      // The COMMIT itself failed: nothing of the batch is in the database.
      for (const p of batch) p.reject(err);
      return schedule();
    }
    const settle = (syncErr: unknown) => {
      observers.get(db)?.(batch.length, (performance.now() - began) / 1000);
      batch.forEach((p, i) => {
        const o = outcomes[i]!;
        if (!o.ok) p.reject(o.err);
        else if (syncErr) p.reject(new NotDurableError(syncErr));
        else p.resolve(o.value);
      });
    };
    if (!syncer || outcomes.every((o) => !o.ok)) {
      settle(null);
      return schedule();
    }
    const now = Date.now();
    if (now - lastCheckpoint >= CHECKPOINT_EVERY_MS) {
      lastCheckpoint = now;
      checkpoints?.request();
    }
    syncing = true;
    syncer.sync().then(
      () => settle(null),
      settle,
    ).finally(() => {
      syncing = false;
      schedule();
    });
  };

  return {
    run<T>(write: () => T): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push({ write, resolve: resolve as (v: unknown) => void, reject });
        schedule();
      });
    },
  };
}
