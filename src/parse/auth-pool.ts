import type { Worker } from 'node:worker_threads';
import type { AuthEnvelope } from './auth.js';
import { newThread } from './thread.js';
import type { AuthResults } from './types.js';

/**
 * SPF/DKIM/DMARC/ARC on a thread of their own (issue 14, DESIGN §1 invariant 5), for messages whose
 * checks could hold the event loop (auth-cost.ts): a hostile one costs seconds that no timer can
 * interrupt (hundreds of DKIM signatures each naming hundreds of headers, among thousands; or
 * 200,000 headers to split). Here the event loop only copies the message over (or names its
 * spool file). The thread keeps computeAuth's own bound (`timeoutMs`); if its
 * loop is so busy that even that cannot fire, the thread is ended at `timeoutMs` + STUCK_GRACE_MS
 * and every check it held answers temperror, as a timeout does.
 */
/** What a thread needs to check one message: its envelope, and the resolver's and computeAuth's settings. */
export interface AuthParams {
  env: AuthEnvelope;
  servers: string[];
  dnsTimeoutMs: number;
  dnsCacheSeconds: number;
  mta: string;
  timeoutMs: number;
}

export interface AuthTask extends AuthParams {
  id: number;
  /** The message in memory, or … */
  raw: Uint8Array | null;
  /** … its spool file, read by the thread. */
  path: string | null;
}

export interface AuthReply {
  id: number;
  result: AuthResults;
}

export const STUCK_GRACE_MS = 1000;
export const TEMPERROR: AuthResults = { spf: 'temperror', dkim: 'temperror', dmarc: 'temperror', arc: 'temperror' };

interface Pending {
  resolve(r: AuthResults): void;
  timer: NodeJS.Timeout;
}

let thread: { worker: Worker; pending: Map<number, Pending> } | null = null;
let nextId = 1;

/** Checks handed to the auth thread so far (tests: a message parsed on a parse thread is checked there instead). */
export const authThreadTasks = () => nextId - 1;

function spawn() {
  const t = { worker: newThread('auth-worker'), pending: new Map<number, Pending>() };
  t.worker.unref();
  t.worker.on('message', (m: AuthReply) => settle(t, m.id, m.result));
  const died = () => {
    if (thread === t) thread = null;
    for (const id of [...t.pending.keys()]) settle(t, id, TEMPERROR);
  };
  t.worker.on('error', died);
  t.worker.on('exit', died);
  return t;
}

function settle(t: NonNullable<typeof thread>, id: number, result: AuthResults): void {
  const p = t.pending.get(id);
  if (!p) return;
  t.pending.delete(id);
  clearTimeout(p.timer);
  p.resolve(result);
  // Referenced only while checks are out, so a pending 250 is never dropped by an idle exit.
  if (t.pending.size === 0) t.worker.unref();
}

/** computeAuth on the auth thread; never throws, answers within `timeoutMs` + STUCK_GRACE_MS. */
export function authOffThread(
  input: { raw: Buffer | null; path: string | null },
  env: AuthEnvelope,
  opts: { servers: string[]; dnsTimeoutMs: number; dnsCacheSeconds: number; mta: string; timeoutMs: number },
): Promise<AuthResults> {
  const t = (thread ??= spawn());
  const id = nextId++;
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      // computeAuth's own timer could not fire: the thread's loop is held. End it; the next check starts a new one.
      if (thread === t) thread = null;
      settle(t, id, TEMPERROR);
      void t.worker.terminate();
    }, opts.timeoutMs + STUCK_GRACE_MS);
    t.pending.set(id, { resolve, timer });
    t.worker.ref();
    // A copy of exactly the message (a Buffer may be a slice of a larger pool), moved, not cloned again.
    const raw = input.path ? null : new Uint8Array(input.raw!);
    const task: AuthTask = { id, raw, path: input.path, env, ...opts };
    t.worker.postMessage(task, raw ? [raw.buffer as ArrayBuffer] : []);
  });
}
