import type { LookupAddress } from 'node:dns';
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import { ForbiddenAddressError, guardedLookup } from '../net/url-guard.js';
import { newThread } from '../parse/thread.js';
import type { AttemptResult, PostInput } from './post-http.js';

export { MAX_RESPONSE_BYTES, USER_AGENT, type AttemptResult, type PostInput } from './post-http.js';

/**
 * Webhook POSTs on a thread of their own (issue 14): the signing, http.request, the keep-alive
 * pools (one per guard mode, as before) and the response are the webhook thread's
 * (post-worker.ts); the event loop hands over the built body and gets the AttemptResult back.
 * Posts and answers of one turn of either loop travel as one message each way.
 *
 * The names of guarded destinations are still resolved and checked here, by url-guard's
 * guardedLookup, on the thread's request (one round trip per new connection): one resolver for
 * the process, and the answer the socket uses is the one checked, as before.
 *
 * If the thread dies, every attempt it held is a failed attempt (THREAD_DIED), retried by the
 * schedule, and the next attempt starts a new thread. If its loop is held so long that its own
 * timers cannot fire, the attempt fails `STUCK_GRACE_MS` after its timeout and the thread is ended.
 */
export const STUCK_GRACE_MS = 5000;
export const THREAD_DIED = 'internal error: the webhook thread stopped';

/** One attempt handed to the thread; `body` is moved (transferred) when it is a whole ArrayBuffer of its own. */
export interface PostTask {
  id: number;
  input: Omit<PostInput, 'body'> & { body: string | Uint8Array };
}
/** From the event loop to the thread. */
export type ToThread = { posts: PostTask[] } | { lookup: number; error: { message: string; detail: string | null; code: string | null } | null; addresses: LookupAddress[] };
/** From the thread to the event loop. */
export type FromThread = { results: { id: number; result: AttemptResult }[] } | { lookup: number; hostname: string; family: number; hints: number | undefined };

interface Pending {
  resolve(r: AttemptResult): void;
  started: number;
  timer: NodeJS.Timeout;
}
interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
  /** Posts of this turn, sent together at its end. */
  outbox: PostTask[];
  transfer: ArrayBuffer[];
}

let thread: Thread | null = null;
let nextId = 1;

const failed = (p: Pending, error: string): AttemptResult => ({
  statusCode: null,
  latencyMs: Math.round(performance.now() - p.started),
  body: '',
  error,
  retryAfter: null,
  detail: null,
});

function spawn(): Thread {
  const t: Thread = { worker: newThread('post-worker', import.meta.url), pending: new Map(), outbox: [], transfer: [] };
  t.worker.unref();
  t.worker.on('message', (m: FromThread) => {
    if ('results' in m) {
      for (const { id, result } of m.results) settle(t, id, result);
    } else {
      lookupFor(t, m);
    }
  });
  const died = () => {
    if (thread === t) thread = null;
    for (const [id, p] of [...t.pending]) settle(t, id, failed(p, THREAD_DIED));
  };
  t.worker.on('error', died);
  t.worker.on('exit', died);
  return t;
}

/** The thread asks for a guarded name: resolved and checked here, as url-guard does it. */
function lookupFor(t: Thread, m: Extract<FromThread, { lookup: number }>): void {
  guardedLookup(m.hostname, { family: m.family, hints: m.hints, all: true }, (err, addresses) => {
    const reply: ToThread = err
      ? {
          lookup: m.lookup,
          error: { message: err.message, detail: err instanceof ForbiddenAddressError ? err.detail : null, code: err.code ?? null },
          addresses: [],
        }
      : { lookup: m.lookup, error: null, addresses: addresses as unknown as LookupAddress[] };
    // The thread may have died meanwhile: its requests are settled already.
    if (thread === t) t.worker.postMessage(reply);
  });
}

function settle(t: Thread, id: number, result: AttemptResult): void {
  const p = t.pending.get(id);
  if (!p) return;
  t.pending.delete(id);
  clearTimeout(p.timer);
  // latencyMs is the thread's: from the request's start to its end there, without the thread's
  // start-up or the hops (the adaptive limit compares it with the destination's fastest answers).
  p.resolve(result);
  // Referenced only while attempts are out, so an idle thread never keeps the process up.
  if (t.pending.size === 0) t.worker.unref();
}

function flush(t: Thread): void {
  const posts = t.outbox;
  const transfer = t.transfer;
  t.outbox = [];
  t.transfer = [];
  if (thread !== t) return; // died before the turn ended: its attempts are settled
  t.worker.postMessage({ posts } satisfies ToThread, transfer);
}

/**
 * Sends one signed POST (on the webhook thread) and reports what happened. Never throws and never
 * follows a redirect (a 3xx is a failed attempt: following one would let a public URL bounce us
 * to a private one). `timeoutMs` bounds the whole attempt: DNS, connect, TLS, headers and the body
 * read. With `moveBody`, a Buffer body that is the whole of its memory is moved to the thread, not
 * copied: the caller must not read it afterwards.
 */
export function postWebhook(input: PostInput & { moveBody?: boolean }): Promise<AttemptResult> {
  const started = performance.now();
  const t = (thread ??= spawn());
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      // The thread's own timer could not fire: its loop is held. End it; the next attempt starts a new one.
      const p = t.pending.get(id);
      if (!p) return;
      if (thread === t) thread = null;
      settle(t, id, failed(p, `timed out after ${input.timeoutMs} ms`));
      void t.worker.terminate();
    }, input.timeoutMs + STUCK_GRACE_MS);
    t.pending.set(id, { resolve, started, timer });
    t.worker.ref();
    const { moveBody, body: given, ...rest } = input;
    let body: string | Uint8Array = given;
    if (typeof given !== 'string') {
      const own = moveBody && given.byteOffset === 0 && given.byteLength === given.buffer.byteLength && given.buffer instanceof ArrayBuffer;
      // A Buffer may be a slice of a shared pool: that one is copied, so that only its bytes travel.
      body = own ? new Uint8Array(given.buffer, 0, given.byteLength) : new Uint8Array(given);
      t.transfer.push(body.buffer as ArrayBuffer);
    }
    if (t.outbox.push({ id, input: { ...rest, body } }) === 1) setImmediate(flush, t);
  });
}

/** The webhook thread now, if one runs (tests: to end it mid-attempt). */
export const webhookThread = (): Worker | null => thread?.worker ?? null;
