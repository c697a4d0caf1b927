import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { MessageChannel, type Worker } from 'node:worker_threads';
import { STUCK_GRACE_MS, TEMPERROR, type AuthParams } from './auth-pool.js';
import type { ParseOutcome, PutAttachment } from './parse-message.js';
import type { FromWorker, JsonOutcome, ParseTask, ToWorker } from './parse-protocol.js';
import { collector } from './collect.js';
import { newThread } from './thread.js';
import type { AuthResults } from './types.js';

/**
 * Parse threads, so that a message whose parse takes seconds (200,000 encoded-word headers,
 * megabytes of nested HTML) never holds the event loop that every SMTP session and API call
 * shares (DESIGN §1 invariant 5). Tasks wait in one queue per lane (an account's dry runs, SMTP)
 * and the lanes take turns, so one account's forty dry runs delay another's by one parse at most.
 * The thread runs src/parse/parse-message.ts itself.
 */
export const PARSE_THREADS = Math.max(1, Math.min(2, availableParallelism()));

const newWorker = () => newThread('parse-worker');

export interface ParseInput {
  raw: Buffer | null;
  path: string | null;
}

interface Job {
  input: ParseInput | JsonInput;
  put: PutAttachment | null;
  resolve(outcome: ParseOutcome | JsonOutcome): void;
  reject(err: unknown): void;
  /** The message's auth checks, run by the thread on the same read of the message; `answer` settles once. */
  auth: { params: AuthParams; answer(result: AuthResults): void } | null;
}

interface JsonInput {
  json: ArrayBuffer;
  member: string;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  job: Job | null;
}

let tasks = 0;
/** Tasks the parse threads started so far (tests: an ordinary big message is parsed on the event loop instead). */
export const parseThreadTasks = () => tasks;
let authTasks = 0;
/** Tasks whose auth checks a parse thread ran so far (tests: an unsigned big message's are answered on the event loop instead). */
export const parseThreadAuthTasks = () => authTasks;

const lanes = new Map<string, Job[]>();
const threads: Thread[] = [];

function nextJob(): Job | null {
  for (const [lane, queue] of lanes) {
    const job = queue.shift()!;
    lanes.delete(lane);
    // Back of the rotation: the other lanes go first next time.
    if (queue.length) lanes.set(lane, queue);
    return job;
  }
  return null;
}

function spawn(): Thread {
  const t: Thread = { worker: newWorker(), ready: false, job: null };
  t.worker.unref();
  t.worker.on('message', (m: 'ready' | 'idle') => {
    t.ready = true;
    if (m === 'idle') t.job = null;
    dispatch();
  });
  const died = (err: Error) => {
    const i = threads.indexOf(t);
    if (i >= 0) threads.splice(i, 1);
    t.job?.reject(err);
    t.job?.auth?.answer(TEMPERROR);
    t.job = null;
    dispatch();
  };
  t.worker.on('error', died);
  t.worker.on('exit', (code) => died(new Error(`parse thread exited with code ${code}`)));
  threads.push(t);
  return t;
}

function dispatch(): void {
  const pending = [...lanes.values()].reduce((n, q) => n + q.length, 0);
  while (threads.length < Math.min(PARSE_THREADS, pending + threads.filter((t) => t.job).length)) spawn();
  for (const t of threads) {
    if (!t.ready || t.job) continue;
    const job = nextJob();
    if (!job) break;
    start(t, job);
  }
  const busy = threads.some((t) => t.job) || lanes.size > 0;
  // Referenced while a parse is out or waiting, so a pending 250 is never dropped by an idle exit.
  for (const t of threads) {
    if (busy) t.worker.ref();
    else t.worker.unref();
  }
}

function start(t: Thread, job: Job): void {
  t.job = job;
  tasks++;
  const { port1, port2 } = new MessageChannel();
  const reply = (m: ToWorker) => port1.postMessage(m);
  const streams = new Map<number, { body: Readable; owed: number; drain(): void }>();
  const storing: Promise<void>[] = [];
  let storeError: unknown = null;
  // The port stays open until both the parse and the auth checks (if asked for) have answered.
  let parsed = false;
  let checked = job.auth === null;
  const closeWhenDone = () => {
    if (parsed && checked) port1.close();
  };
  const settle = (fn: () => void) => {
    parsed = true;
    closeWhenDone();
    void Promise.allSettled(storing).then(fn);
  };
  if (job.auth) {
    authTasks++;
    const auth = job.auth;
    // As on the auth thread: computeAuth's own bound is `timeoutMs`; if the thread's loop is held
    // so long that even that cannot fire, the checks answer temperror here. The thread is not
    // ended: it still owes the parse, which the 250 waits for whatever the checks answer.
    const timer = setTimeout(() => answer(TEMPERROR), auth.params.timeoutMs + STUCK_GRACE_MS);
    const answer = (result: AuthResults) => {
      clearTimeout(timer);
      checked = true;
      closeWhenDone();
      auth.answer(result);
    };
    job.auth = { params: auth.params, answer };
  }
  const collect = collector();
  port1.on('message', (m: FromWorker) => {
    if (m.t === 'open') {
      // A chunk is acknowledged once the store has room for it: at once below the stream's
      // high-water mark, else when the store reads again.
      const drain = () => {
        for (; s.owed > 0; s.owed--) reply({ t: 'ack', index: m.index });
      };
      const s = { owed: 0, drain, body: new Readable({ read: drain }) };
      streams.set(m.index, s);
      storing.push(
        job.put!(m.index, s.body).then(
          () => reply({ t: 'stored', index: m.index, error: null }),
          (err: unknown) => {
            storeError ??= err;
            reply({ t: 'stored', index: m.index, error: (err as Error)?.message ?? String(err) });
          },
        ),
      );
    } else if (m.t === 'chunk') {
      const s = streams.get(m.index)!;
      s.owed++;
      collect(m.chunk.byteLength);
      if (s.body.push(Buffer.from(m.chunk.buffer, m.chunk.byteOffset, m.chunk.byteLength))) s.drain();
    } else if (m.t === 'end') streams.get(m.index)?.body.push(null);
    else if (m.t === 'fail') streams.get(m.index)?.body.destroy(new Error(m.message));
    // The store's own error (ENOSPC, S3 down) rather than its message copied across threads.
    else if (m.t === 'done') settle(() => (storeError ? job.reject(storeError) : job.resolve(m.outcome)));
    else if (m.t === 'auth') job.auth?.answer(m.result);
    else if (m.t === 'json') settle(() => job.resolve(m.result));
    else settle(() => job.reject(storeError ?? new Error(m.message)));
  });
  const input = job.input;
  const raw = 'raw' in input ? input.raw : null;
  const task: ParseTask = {
    raw: raw ? new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength) : null,
    path: 'path' in input ? input.path : null,
    json: 'json' in input ? { bytes: new Uint8Array(input.json), member: input.member } : null,
    keepAttachments: job.put !== null,
    // Whoever keeps the attachments keeps the message; a dry run (put null) needs neither.
    keepBodies: job.put !== null,
    auth: job.auth?.params ?? null,
    port: port2,
  };
  // A JSON body is moved, not copied: the event loop never touches its bytes again.
  t.worker.postMessage(task, 'json' in input ? [port2, input.json] : [port2]);
}

function enqueue(lane: string, job: Job): void {
  const queue = lanes.get(lane);
  if (queue) queue.push(job);
  else lanes.set(lane, [job]);
  dispatch();
}

/**
 * Parses `input` on a parse thread. `put` receives each attachment as parseMessage's own
 * callback would (null: attachment bodies are dropped). `lane` groups the tasks that take turns
 * with one another: one per account for dry runs, one for SMTP.
 */
export function parseOffThread(input: ParseInput, put: PutAttachment | null, lane: string): Promise<ParseOutcome> {
  return new Promise((resolve, reject) => enqueue(lane, { input, put, resolve: (o) => resolve(o as ParseOutcome), reject, auth: null }));
}

/**
 * parseOffThread, and the message's SPF/DKIM/DMARC/ARC checks on the same thread and the same
 * read of the message (a spooled one is streamed once, not once per thread: bench/README.md,
 * "Big mail and the auth thread"). `auth` never rejects: temperror, as computeAuth's, when the
 * checks ran out of time, the thread died, or it did not answer within `timeoutMs` +
 * STUCK_GRACE_MS of starting the task.
 */
export function parseAndCheckOffThread(
  input: ParseInput,
  put: PutAttachment | null,
  lane: string,
  params: AuthParams,
): { parsed: Promise<ParseOutcome>; auth: Promise<AuthResults> } {
  let answer!: (r: AuthResults) => void;
  const auth = new Promise<AuthResults>((resolve) => (answer = resolve));
  const parsed = new Promise<ParseOutcome>((resolve, reject) =>
    enqueue(lane, { input, put, resolve: (o) => resolve(o as ParseOutcome), reject, auth: { params, answer } }),
  );
  return { parsed, auth };
}

/**
 * Decodes the JSON document `json` on a parse thread and parses its member `member` as a message
 * if it is a string (attachment and text bodies dropped, as for a dry run). `json` is moved to the
 * thread when the task starts: the caller must not touch it again.
 */
export function parseJsonOffThread(json: ArrayBuffer, member: string, lane: string): Promise<JsonOutcome> {
  return new Promise((resolve, reject) => enqueue(lane, { input: { json, member }, put: null, resolve: (o) => resolve(o as JsonOutcome), reject, auth: null }));
}
