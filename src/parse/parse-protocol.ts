import type { MessagePort } from 'node:worker_threads';
import type { AuthParams } from './auth-pool.js';
import type { ParseOutcome } from './parse-message.js';
import type { AuthResults } from './types.js';

/**
 * Messages between the main thread and a parse thread (parse-pool.ts, parse-worker.ts). Each
 * task has a MessagePort of its own: attachments come back over it as chunks, at most
 * CHUNK_WINDOW unacknowledged per attachment, so a 40 MB attachment is never queued whole
 * between the threads (the BlobStore's back-pressure reaches the parser).
 */
export const CHUNK_WINDOW = 4;

export interface ParseTask {
  /** The whole message in memory, or … */
  raw: Uint8Array | null;
  /** … a spool file the thread reads itself, or … */
  path: string | null;
  /**
   * … a JSON document (UTF-8 bytes, moved to the thread) whose member `member` is the message:
   * the thread decodes it too (a dry run's 10 MiB request body, issue 14).
   */
  json: { bytes: Uint8Array; member: string } | null;
  /** false: attachment bodies are read and dropped (dry runs). */
  keepAttachments: boolean;
  /** false: the text and HTML bodies are dropped from the outcome (dry runs: routes never read them). */
  keepBodies: boolean;
  /**
   * The message's SPF/DKIM/DMARC/ARC checks, run on this thread on the same read of the message
   * (a spool file is read once, its chunks going to the parser and to the DKIM verifier): answered
   * as `auth`, after which the thread may already take its next task while the checks wait on DNS.
   */
  auth: AuthParams | null;
  port: MessagePort;
}

/**
 * A JSON task's answer: `value` is the document without its message member when that member was
 * a string (then parsed into `outcome`); otherwise the document as it is and no outcome.
 */
export type JsonOutcome =
  | { ok: true; value: unknown; outcome: ParseOutcome | null }
  /** Not JSON: nothing was parsed. */
  | { ok: false; error: string };

export type FromWorker =
  | { t: 'open'; index: number }
  | { t: 'chunk'; index: number; chunk: Uint8Array }
  | { t: 'end'; index: number }
  | { t: 'fail'; index: number; message: string }
  | { t: 'done'; outcome: ParseOutcome }
  /** The auth checks' clock started (mailauth is loaded): their answer is due within their bound. */
  | { t: 'checking' }
  | { t: 'auth'; result: AuthResults }
  | { t: 'json'; result: JsonOutcome }
  | { t: 'error'; message: string };

export type ToWorker = { t: 'ack'; index: number } | { t: 'stored'; index: number; error: string | null };
