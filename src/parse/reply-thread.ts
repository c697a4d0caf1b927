import type { Worker } from 'node:worker_threads';
import { assembleReply, prepareReplyInput, unsplitReply, type Fragment, type Reply } from './reply.js';
import { splitWithoutExpressions } from './reply-fragments.js';
import type { ReplyAnswer } from './reply-worker.js';
import { newThread } from './thread.js';

/**
 * email-reply-parser's split (reply-fragments.ts) on a thread of its own (reply-worker.ts), so
 * that its regular expressions (quadratic on some inputs, see reply.ts) never hold the event loop
 * every SMTP session shares. Each request has a deadline; at the deadline the thread is
 * terminated (the only way to stop a running regular expression) and the caller gets the text
 * unsplit. Never rejects.
 */

/** A normal reply takes well under 1 ms; a loaded machine and a cold thread need more. */
export const REPLY_TIMEOUT_MS = 2000;

let worker: Worker | null = null;
let nextId = 0;
const pending = new Map<number, (fragments: Fragment[] | null) => void>();

function stop(w: Worker): void {
  if (worker !== w) return;
  worker = null;
  for (const done of pending.values()) done(null);
  pending.clear();
  void w.terminate();
}

function thread(): Worker {
  if (worker) return worker;
  const w = newThread('reply-worker');
  w.unref();
  w.on('message', (m: ReplyAnswer) => {
    if ('ready' in m) return;
    const done = pending.get(m.id);
    pending.delete(m.id);
    if (pending.size === 0) w.unref();
    done?.(m.fragments ?? null);
  });
  w.on('error', () => stop(w));
  w.on('exit', () => stop(w));
  worker = w;
  return w;
}

const NOT_SPACE = /\S/;

/** `{ text, signature, quoted }` of a message's text; the text unsplit when the library fails or times out. */
export function extractReply(text: string, timeoutMs = REPLY_TIMEOUT_MS): Promise<Reply> {
  // text.trim() === '' without trim()'s copy of the text (\s is trim()'s set).
  if (!NOT_SPACE.test(text)) return Promise.resolve({ text: '', signature: '', quoted: '' });
  const input = prepareReplyInput(text);
  // A text none of the library's expressions can match (most mail) is split here: without them
  // the split is linear in the text (at most MAX_REPLY_INPUT), and cheaper than the thread's
  // round trip, the text copied there and the answer back (issue 14). The same fragments.
  const plain = splitWithoutExpressions(input);
  if (plain) return Promise.resolve(assembleOrUnsplit(plain, text));
  return new Promise((resolve) => {
    const id = nextId++;
    const w = thread();
    const timer = setTimeout(() => stop(w), timeoutMs);
    pending.set(id, (fragments) => {
      clearTimeout(timer);
      resolve(fragments ? assembleOrUnsplit(fragments, text) : unsplitReply(text));
    });
    w.ref();
    w.postMessage({ id, text: input });
  });
}

function assembleOrUnsplit(fragments: Fragment[], text: string): Reply {
  try {
    return assembleReply(fragments);
  } catch {
    return unsplitReply(text);
  }
}
