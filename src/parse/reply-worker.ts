import { parentPort } from 'node:worker_threads';
import type { Fragment } from './reply.js';
import { splitFragments } from './reply-fragments.js';

/**
 * The reply thread (reply-thread.ts): email-reply-parser's split (reply-fragments.ts) of each
 * text it is sent, off the event loop, where the thread's deadline can stop it.
 */
export type ReplyAnswer = { ready: true } | { id: number; fragments?: Fragment[]; error?: string };

parentPort!.on('message', ({ id, text }: { id: number; text: string }) => {
  let answer: ReplyAnswer;
  try {
    const fragments = splitFragments(text).map(({ content, quoted, signature }) => ({ content, quoted, signature }));
    answer = { id, fragments };
  } catch (err) {
    answer = { id, error: (err instanceof Error && err.message) || String(err) };
  }
  parentPort!.postMessage(answer);
});
parentPort!.postMessage({ ready: true } satisfies ReplyAnswer);
