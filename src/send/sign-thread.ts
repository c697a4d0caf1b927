import { type KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';

/**
 * The RSA signature of DKIM (dkim-sign.ts) on one dedicated thread that lowers its own priority
 * (nice 10) when it starts. On libuv's pool each signature woke a thread at the event loop's own
 * priority, which took the loop's core from it for ~0.2 ms at a time (bench/README.md, "Issue 12",
 * session 15); at nice 10 the signature waits for a core the loop leaves free, and on a busy
 * single core it still gets about a tenth of it, so sends are delayed, never stopped (README.md,
 * "Sending"). Where the priority cannot be lowered (not Linux, EPERM) it runs at normal priority.
 *
 * The thread starts with the first signature (a server that only receives never starts it), does
 * not keep the process alive when idle (unref; only while a signature is pending, as a request
 * on libuv's pool did), and is replaced when it dies: the signatures it had not
 * answered are asked of the new thread once, then rejected (never a hang).
 */

/** Plain JavaScript, evaluated: the same in the tests (TypeScript sources) and in the built server. */
const THREAD_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { sign } = require('node:crypto');
const { readlinkSync } = require('node:fs');
const { setPriority } = require('node:os');
try {
  // "PID/task/TID": Linux's nice value is per thread (man 2 setpriority), so this lowers this thread only.
  const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
  if (tid > 0) setPriority(tid, ${10});
} catch {}
const keys = new Map();
parentPort.on('message', (m) => {
  if (m.key) keys.set(m.keyId, m.key);
  try {
    const key = keys.get(m.keyId);
    if (!key) throw new Error('signing thread: unknown key');
    const sig = sign('sha256', m.data, key);
    parentPort.postMessage({ id: m.id, sig }, [sig.buffer]);
  } catch (err) {
    parentPort.postMessage({ id: m.id, error: { message: err && err.message, code: err && err.code } });
  }
});
`;

interface Pending {
  data: Uint8Array;
  key: KeyObject;
  resolve: (sig: Buffer) => void;
  reject: (err: Error) => void;
  retried: boolean;
}

interface Thread {
  worker: Worker;
  /** Keys this thread already holds, by KeyObject (dkim-key.ts keeps one object per key). */
  keyIds: WeakMap<KeyObject, number>;
  pending: Map<number, Pending>;
}

let current: Thread | null = null;
let nextId = 1;
let nextKeyId = 1;

function start(): Thread {
  const worker = new Worker(THREAD_SOURCE, { eval: true, name: 'mailhook-dkim-sign', execArgv: [] });
  worker.unref();
  const thread: Thread = { worker, keyIds: new WeakMap(), pending: new Map() };
  worker.on('message', (m: { id: number; sig?: Uint8Array; error?: { message?: string; code?: string } }) => {
    const p = thread.pending.get(m.id);
    if (!p) return;
    thread.pending.delete(m.id);
    if (thread.pending.size === 0) thread.worker.unref();
    if (m.sig) p.resolve(Buffer.from(m.sig.buffer, m.sig.byteOffset, m.sig.byteLength));
    else p.reject(Object.assign(new Error(m.error?.message ?? 'signing failed'), m.error?.code ? { code: m.error.code } : {}));
  });
  const died = (err?: Error) => {
    if (current === thread) current = null;
    const orphans = [...thread.pending.values()];
    thread.pending.clear();
    for (const p of orphans) {
      if (p.retried) p.reject(new Error(`signing thread ended${err ? `: ${err.message}` : ''}`));
      else {
        try {
          submit({ ...p, retried: true });
        } catch (e) {
          // No new thread could start (Worker's constructor threw): this signature fails, not the process.
          p.reject(e as Error);
        }
      }
    }
  };
  worker.on('error', died);
  worker.on('exit', () => died());
  return thread;
}

function submit(p: Pending): void {
  const thread = (current ??= start());
  const id = nextId++;
  let keyId = thread.keyIds.get(p.key);
  const first = keyId === undefined;
  if (keyId === undefined) {
    keyId = nextKeyId++;
    thread.keyIds.set(p.key, keyId);
  }
  thread.pending.set(id, p);
  // A pending thread ref'd keeps the process up until its answers are in; none pending, it never does.
  if (thread.pending.size === 1) thread.worker.ref();
  thread.worker.postMessage(first ? { id, keyId, key: p.key, data: p.data } : { id, keyId, data: p.data });
}

/** rsa-sha256 over `data` with `key`, made on the signing thread. */
export function rsaSha256OnThread(data: Uint8Array, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => submit({ data, key, resolve, reject, retried: false }));
}

/** The running signing thread, if one has started (tests end it to check a replacement). */
export function signingThread(): Worker | null {
  return current?.worker ?? null;
}
