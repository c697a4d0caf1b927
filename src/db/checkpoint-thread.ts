import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints on a thread of their own. SQLite's automatic checkpoint runs inside the commit
 * that crosses wal_autocheckpoint, on the committing thread: copying the WAL into the database
 * and fsyncing both stalled the event loop for 10–80 ms every few hundred messages. Here a
 * second connection, opened per checkpoint on its own thread, runs PRAGMA wal_checkpoint(PASSIVE),
 * which never blocks the writer. SQLite keeps it safe: the WAL is synced before it is copied
 * and the database after. One thread per process serves every database.
 *
 * The main connection and the thread share two flags (open, busy): the thread never opens a
 * database whose main connection has closed (that would bring back its -wal and -shm files),
 * and closing waits for a checkpoint already running.
 */
const SQLITE = createRequire(import.meta.url).resolve('better-sqlite3');
const CODE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.sqlite);
parentPort.on('message', ({ file, flags }) => {
  const f = new Int32Array(flags);
  Atomics.store(f, 1, 1);
  let error = null;
  try {
    if (Atomics.load(f, 0) === 1) {
      const db = new Database(file, { fileMustExist: true });
      try {
        db.pragma('synchronous = FULL');
        db.pragma('wal_checkpoint(PASSIVE)');
      } finally {
        db.close();
      }
    }
  } catch (err) {
    error = (err && err.message) || String(err);
  } finally {
    Atomics.store(f, 1, 0);
    Atomics.notify(f, 1);
  }
  parentPort.postMessage({ file, error });
});
`;

const OPEN = 0;
const BUSY = 1;
/** Closing waits at most this long for a running checkpoint (it only ever takes this long on a sick disk). */
const CLOSE_WAIT_MS = 5000;

let worker: Worker | null = null;
const inFlight = new Set<string>();

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(CODE, { eval: true, workerData: { sqlite: SQLITE } });
  w.on('message', ({ file }: { file: string; error: string | null }) => {
    // A failed checkpoint is retried at the next request; the main connection's own
    // wal_autocheckpoint (raised, not disabled) stays the safety net.
    inFlight.delete(file);
  });
  const reset = () => {
    if (worker !== w) return;
    worker = null;
    inFlight.clear();
  };
  w.on('error', reset);
  w.on('exit', reset);
  // After the listeners: adding a 'message' listener refs the worker's port again, and a
  // referenced idle thread kept short-lived processes (the CLI) from ever exiting.
  w.unref();
  worker = w;
  return w;
}

export interface BackgroundCheckpoints {
  /** Asks for a passive checkpoint; does nothing while one is still running. */
  request(): void;
  /** Call before closing the main connection: no checkpoint starts after, a running one is waited for. */
  stop(): void;
}

export function backgroundCheckpoints(file: string): BackgroundCheckpoints {
  const flags = new Int32Array(new SharedArrayBuffer(8));
  Atomics.store(flags, OPEN, 1);
  return {
    request() {
      if (Atomics.load(flags, OPEN) !== 1 || inFlight.has(file)) return;
      inFlight.add(file);
      thread().postMessage({ file, flags: flags.buffer });
    },
    stop() {
      Atomics.store(flags, OPEN, 0);
      const deadline = Date.now() + CLOSE_WAIT_MS;
      while (Atomics.load(flags, BUSY) === 1 && Date.now() < deadline) Atomics.wait(flags, BUSY, 1, 100);
    },
  };
}
