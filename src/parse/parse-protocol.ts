import type { MessagePort } from 'node:worker_threads';
import type { ParseOutcome } from './parse-message.js';

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
  /** … a spool file the thread reads itself. */
  path: string | null;
  /** false: attachment bodies are read and dropped (dry runs). */
  keepAttachments: boolean;
  port: MessagePort;
}

export type FromWorker =
  | { t: 'open'; index: number }
  | { t: 'chunk'; index: number; chunk: Uint8Array }
  | { t: 'end'; index: number }
  | { t: 'fail'; index: number; message: string }
  | { t: 'done'; outcome: ParseOutcome }
  | { t: 'error'; message: string };

export type ToWorker = { t: 'ack'; index: number } | { t: 'stored'; index: number; error: string | null };
