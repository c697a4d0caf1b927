import type { Worker } from 'node:worker_threads';
import { HttpError } from '../errors.js';
import { newThread } from '../parse/thread.js';
import type { Attachment, Composition, Signer } from './compose.js';

/**
 * compose() (compose.ts) on a thread of its own (compose-worker.ts): MailComposer's compile, the
 * MIME walk, the DKIM body hash, the canonical headers and the RSA signature of each message sent
 * through POST /v1/send, off the event loop that answers every request and SMTP session. Here the
 * loop only copies the composition over and takes the bytes back (moved, not copied).
 *
 * A thread that dies (an error, an exit, `terminate()`) or holds a message past COMPOSE_TIMEOUT_MS
 * fails every message it held with a 503 (nothing was written: the send is committed only after
 * composing), and the next message starts a new thread. Never hangs.
 */
export interface ComposeTask {
  id: number;
  c: Omit<Composition, 'attachments'> & { attachments: (Omit<Attachment, 'content'> & { content: Uint8Array })[] };
  signer: Signer;
  messageId: string;
  date: number;
}

export type ComposeReply = { id: number; raw: Uint8Array } | { id: number; error: string };

/** A 4 KB message takes ~1.5 ms there; a message at MAX_MESSAGE_BYTES with attachments, well under a second. */
export const COMPOSE_TIMEOUT_MS = 30_000;

interface Pending {
  resolve(raw: Buffer): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

let thread: Thread | null = null;
let nextId = 1;

const stopped = () => new HttpError(503, 'composing the message failed: the composer thread stopped; nothing was queued, try again');

function spawn(): Thread {
  const t: Thread = { worker: newThread('compose-worker', import.meta.url), pending: new Map() };
  t.worker.unref();
  t.worker.on('message', (m: ComposeReply) => {
    if ('raw' in m) settle(t, m.id, null, Buffer.from(m.raw.buffer, m.raw.byteOffset, m.raw.byteLength));
    else settle(t, m.id, new Error(m.error));
  });
  const died = () => stop(t);
  t.worker.on('error', died);
  t.worker.on('exit', died);
  return t;
}

/** Ends `t` and fails what it held. */
function stop(t: Thread): void {
  if (thread === t) thread = null;
  for (const id of [...t.pending.keys()]) settle(t, id, stopped());
  void t.worker.terminate();
}

function settle(t: Thread, id: number, err: Error | null, raw?: Buffer): void {
  const p = t.pending.get(id);
  if (!p) return;
  t.pending.delete(id);
  clearTimeout(p.timer);
  if (err) p.reject(err);
  else p.resolve(raw!);
  // Referenced only while messages are out, so an idle thread never keeps the process up.
  if (t.pending.size === 0) t.worker.unref();
}

/** compose(c, signer, messageId, date) on the composer thread: the same bytes. */
export function composeOffThread(c: Composition, signer: Signer, messageId: string, date: Date, timeoutMs = COMPOSE_TIMEOUT_MS): Promise<Buffer> {
  const t = (thread ??= spawn());
  const id = nextId++;
  return new Promise((resolve, reject) => {
    // Stuck (a loop that never ends): ended, and with it every message it held.
    const timer = setTimeout(() => stop(t), timeoutMs);
    t.pending.set(id, { resolve, reject, timer });
    t.worker.ref();
    // A copy of exactly each attachment (a Buffer may be a slice of a larger one), moved, not cloned again.
    const attachments = c.attachments.map((a) => ({ ...a, content: new Uint8Array(a.content) }));
    const task: ComposeTask = { id, c: { ...c, attachments }, signer, messageId, date: date.getTime() };
    t.worker.postMessage(
      task,
      attachments.map((a) => a.content.buffer as ArrayBuffer),
    );
  });
}

/** For tests: the composer thread now, if one runs, and how many messages it holds. */
export const composerThread = (): { worker: Worker; pending: number } | null => (thread ? { worker: thread.worker, pending: thread.pending.size } : null);
