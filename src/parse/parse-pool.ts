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
  /** The message's auth checks, run by the thread on the same read of the message; `answer` is called once. */
  auth: { params: AuthParams; answer(result: AuthResults): void } | null;
  /** The lane it waits in. */
  lane: string;
}

interface JsonInput {
  json: ArrayBuffer;
  member: string;
}

interface Thread {
  worker: Worker;
  ready: boolean;
  job: Job | null;
  /**
   * What each task still waiting on this thread is owed (its parse, its auth checks), to be
   * failed at once if the thread dies or is ended: the current task, and earlier ones whose
   * checks still wait on DNS.
   */
  owed: Set<(err: Error) => void>;
  ended: boolean;
  /** Samples the thread's event loop while it has a job (watchHeld). */
  watch: NodeJS.Timeout | undefined;
}

/**
 * A parse thread whose event loop has not been idle at all for this long while it parses a task
 * is ended, and that task fails (an SMTP message gets 451, a dry run its error). A parse waits
 * on the spool file and on the blob store (an S3 upload's back-pressure reaches it through
 * `put`): its loop goes idle then, however long the task takes, so only synchronous work that
 * never lets go of the loop counts. The worst legitimate parse we know held it 2.2 s (a 50 MB
 * uuencoded body from a spool file in the page cache, whose reads never leave the loop waiting:
 * bench/parse-held.ts); at the thread's lower priority on a busy machine a few times that.
 * Nothing known today holds it longer (hostile sessions bounded encoded words, nesting, giant
 * HTML): this is the bound for what we have not found yet, so that two such messages cannot hold
 * both threads, and every big message and dry run behind them, for as long as they like.
 */
export const PARSE_HELD_MS = 30_000;
let heldMs = PARSE_HELD_MS;
/**
 * Tests: another window (a held parse they can afford to wait for), for the tasks started from
 * now on (a task keeps the window it started with). Returns the restore.
 */
export function setParseHeldMs(ms: number): () => void {
  const before = heldMs;
  heldMs = ms;
  return () => {
    heldMs = before;
  };
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

let heldThreads = 0;
/** Parse threads ended so far because a task held their event loop (past its checks' bound, or PARSE_HELD_MS of its parse). */
export const parseThreadsEnded = () => heldThreads;

/** What a task's parse rejects with when its thread was ended for holding its event loop. */
export class ParseThreadHeldError extends Error {
  /** The task whose checks did not answer in time, or whose parse held the loop. */
  readonly culprit: Job;
  /** What held it: the culprit's auth checks, or its parse (which is not tried again). */
  readonly by: 'checks' | 'parse';
  constructor(culprit: Job, by: 'checks' | 'parse') {
    super(
      by === 'parse'
        ? `parse thread held by the parse for ${heldMs} ms without a break: ended, the message was not parsed`
        : 'parse thread held past its deadline: ended, the message was not parsed',
    );
    this.culprit = culprit;
    this.by = by;
  }
}

/**
 * Takes `t` out of the pool for good: every task it still owes fails at once (a parse rejects
 * once its attachments settled, auth checks answer temperror), and a new thread takes the
 * queue (dispatch). Idempotent: a thread that was ended also exits afterwards.
 */
function retire(t: Thread, err: Error): void {
  if (t.ended) return;
  t.ended = true;
  clearInterval(t.watch);
  const i = threads.indexOf(t);
  if (i >= 0) threads.splice(i, 1);
  t.job = null;
  for (const fail of [...t.owed]) fail(err);
  t.owed.clear();
  dispatch();
}

function spawn(): Thread {
  const t: Thread = { worker: newWorker(), ready: false, job: null, owed: new Set(), ended: false, watch: undefined };
  t.worker.unref();
  t.worker.on('message', (m: 'ready' | 'idle') => {
    if (t.ended) return;
    t.ready = true;
    if (m === 'idle') {
      t.job = null;
      clearInterval(t.watch);
    }
    dispatch();
  });
  t.worker.on('error', (err) => retire(t, err));
  t.worker.on('exit', (code) => retire(t, new Error(`parse thread exited with code ${code}`)));
  threads.push(t);
  return t;
}

/** Ends a thread whose event loop is held (`culprit`'s checks could not even fire their own timer, or its parse never let go of the loop). */
function endHeld(t: Thread, culprit: Job, by: 'checks' | 'parse'): void {
  if (t.ended) return;
  heldThreads++;
  retire(t, new ParseThreadHeldError(culprit, by));
  void t.worker.terminate();
}

/**
 * While `t` parses `job`, reads its event loop's idle time from here every few seconds (a
 * quarter of the window at most): if it has not grown for PARSE_HELD_MS, nothing on the thread
 * has waited on anything (a read, the blob store, a timer) all that time, and the thread is ended
 * with `job` as the culprit. Idle time includes a wait still under way, so a thread waiting on a
 * slow store is seen idle while it waits.
 */
function watchHeld(t: Thread, job: Job): void {
  clearInterval(t.watch);
  const window = heldMs;
  let idle = t.worker.performance.eventLoopUtilization().idle;
  let since = performance.now();
  t.watch = setInterval(
    () => {
      if (t.ended || t.job !== job) return clearInterval(t.watch);
      const now = t.worker.performance.eventLoopUtilization().idle;
      if (now > idle) {
        idle = now;
        since = performance.now();
      } else if (performance.now() - since >= window) endHeld(t, job, 'parse');
    },
    Math.min(5000, Math.max(10, window / 4)),
  );
  t.watch.unref();
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
  watchHeld(t, job);
  const { port1, port2 } = new MessageChannel();
  const reply = (m: ToWorker) => port1.postMessage(m);
  const streams = new Map<number, { body: Readable; owed: number; drain(): void }>();
  const storing: Promise<void>[] = [];
  let storeError: unknown = null;
  // The port stays open until the thread has answered both the parse and the auth checks (if asked for).
  let parsed = false;
  let threadChecked = job.auth === null;
  const closeWhenDone = () => {
    if (parsed && threadChecked) {
      port1.close();
      t.owed.delete(abandon);
    }
  };
  const settle = (fn: () => void) => {
    parsed = true;
    closeWhenDone();
    void Promise.allSettled(storing).then(fn);
  };
  // The checks' answer to the caller (once), the thread's own answer, and when its clock started.
  let answer = (_: AuthResults) => {};
  let fromThread = (_: AuthResults) => {};
  let checking = () => {};
  let cancel = () => {};
  let held: NodeJS.Timeout | undefined;
  /**
   * The thread is gone: what it still owes this task fails now (attachments being stored are cut
   * off first). Except when the thread was ended for being held by a task's checks and this
   * task's parse had not answered: it goes back to the front of its lane and starts over on
   * another thread (the attachments it stored are written again). A task that only took the
   * thread while another's checks held it keeps its checks; the task whose checks held it (the
   * culprit) has them answered temperror now and starts over without them, so it cannot hold a
   * thread that way again: it is parsed and stored with temperror, as when its parse answered
   * first, rather than refused with 451 (a sender retrying would meet the same bound every time).
   * A task whose parse held the thread (PARSE_HELD_MS) fails instead: parsed again, it would
   * hold the next thread as long.
   */
  const abandon = (err: Error) => {
    clearTimeout(held);
    const culprit = err instanceof ParseThreadHeldError && err.culprit === job;
    // (A JSON body was moved to the thread: gone with it.)
    const again = !parsed && err instanceof ParseThreadHeldError && !('json' in job.input) && !(culprit && err.by === 'parse');
    const withoutChecks = again && culprit;
    if (!parsed) {
      for (const s of streams.values()) s.body.destroy(err);
      settle(() => {
        if (!again) return job.reject(err);
        requeue(withoutChecks ? { ...job, auth: null } : job);
      });
    }
    if (again && !withoutChecks) cancel();
    else answer(TEMPERROR);
    threadChecked = true;
    closeWhenDone();
  };
  t.owed.add(abandon);
  if (job.auth) {
    authTasks++;
    const auth = job.auth;
    const bound = auth.params.timeoutMs + STUCK_GRACE_MS;
    // As on the auth thread: computeAuth's own bound is `timeoutMs`. The checks answer temperror
    // here `bound` after the task started, whatever the thread does. And the thread has `bound`
    // from the moment its clock started ('checking': mailauth loaded) to answer them itself:
    // computeAuth answers by `timeoutMs` whenever the thread's loop turns at all, so past that its
    // loop is held (mailauth's synchronous work: a field folded into 60,000 lines is 15 s of its
    // header split, an h= of 40,000 names over as many fields 18 s of its header lookup): the
    // thread is ended, a new thread takes the queue, and a parse it still owed starts over there
    // without the checks (abandon).
    const timer = setTimeout(() => answer(TEMPERROR), bound);
    let answered = false;
    // Started over elsewhere: the checks are answered there.
    cancel = () => {
      clearTimeout(timer);
      answered = true;
    };
    answer = (result) => {
      clearTimeout(timer);
      if (answered) return;
      answered = true;
      auth.answer(result);
    };
    checking = () => {
      clearTimeout(held);
      held = setTimeout(() => endHeld(t, job, 'checks'), bound);
    };
    fromThread = (result) => {
      clearTimeout(held);
      answer(result);
      threadChecked = true;
      closeWhenDone();
    };
  }
  const collect = collector();
  port1.on('message', (m: FromWorker) => {
    if (t.ended) return;
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
    else if (m.t === 'checking') checking();
    else if (m.t === 'auth') fromThread(m.result);
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

/** Back at the front of its lane (its thread was ended under it). */
function requeue(job: Job): void {
  const queue = lanes.get(job.lane);
  if (queue) queue.unshift(job);
  else lanes.set(job.lane, [job]);
  dispatch();
}

/**
 * Parses `input` on a parse thread. `put` receives each attachment as parseMessage's own
 * callback would (null: attachment bodies are dropped). `lane` groups the tasks that take turns
 * with one another: one per account for dry runs, one for SMTP.
 */
export function parseOffThread(input: ParseInput, put: PutAttachment | null, lane: string): Promise<ParseOutcome> {
  return new Promise((resolve, reject) => enqueue(lane, { input, put, resolve: (o) => resolve(o as ParseOutcome), reject, auth: null, lane }));
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
    enqueue(lane, { input, put, resolve: (o) => resolve(o as ParseOutcome), reject, auth: { params, answer }, lane }),
  );
  return { parsed, auth };
}

/**
 * Decodes the JSON document `json` on a parse thread and parses its member `member` as a message
 * if it is a string (attachment and text bodies dropped, as for a dry run). `json` is moved to the
 * thread when the task starts: the caller must not touch it again.
 */
export function parseJsonOffThread(json: ArrayBuffer, member: string, lane: string): Promise<JsonOutcome> {
  return new Promise((resolve, reject) => enqueue(lane, { input: { json, member }, put: null, resolve: (o) => resolve(o as JsonOutcome), reject, auth: null, lane }));
}
