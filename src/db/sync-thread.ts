import { Worker } from 'node:worker_threads';

/**
 * fsync(2) of a file on a thread of its own. The libuv pool (4 threads) is shared with every
 * blob write, each with its own fsyncs; under load a WAL fsync queued there waits behind
 * hundreds of them (measured: 34 ms on average at 100 concurrent sessions, against ~1 ms for
 * the fsync itself). Commits must not wait in that queue: every 250 and every webhook attempt
 * waits for one. One thread per process serves every database.
 */
const CODE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
parentPort.on('message', ({ id, path }) => {
  let error = null;
  try {
    const fd = fs.openSync(path, 'r');
    try { fs.fsyncSync(fd); } finally { fs.closeSync(fd); }
  } catch (err) {
    error = (err && err.message) || String(err);
  }
  parentPort.postMessage({ id, error });
});
`;

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, { resolve(): void; reject(err: Error): void }>();

function failAll(w: Worker, err: Error): void {
  if (worker !== w) return;
  worker = null;
  for (const p of pending.values()) p.reject(err);
  pending.clear();
}

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(CODE, { eval: true });
  w.unref(); // never keeps the process alive on its own
  w.on('message', ({ id, error }: { id: number; error: string | null }) => {
    const p = pending.get(id);
    pending.delete(id);
    if (pending.size === 0) w.unref();
    if (!p) return;
    if (error) p.reject(new Error(error));
    else p.resolve();
  });
  w.on('error', (err) => failAll(w, err));
  w.on('exit', (code) => failAll(w, new Error(`fsync thread exited with code ${code}`)));
  worker = w;
  return w;
}

/** Resolves once `path` (opened anew) has been fsync'd. */
export function fsyncOnThread(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const id = nextId++;
    pending.set(id, { resolve, reject });
    const w = thread();
    // Referenced while a request is out, so a pending 250 is never dropped by an idle exit.
    w.ref();
    w.postMessage({ id, path });
  });
}
