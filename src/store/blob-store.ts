import type { Readable } from 'node:stream';

/**
 * Where raw messages and attachments live. Keys are made by Mailhook only
 * (`msg/<msg_id>/raw.eml`, `msg/<msg_id>/<index>`), never from user text.
 */
export interface BlobStore {
  readonly kind: 'fs' | 's3';
  /** Resolves only once the bytes are durable (flushed to disk, or acknowledged by S3). */
  put(key: string, body: Readable | Buffer): Promise<{ size: number }>;
  /** Streams the object; rejects with BlobNotFoundError when there is none. */
  get(key: string): Promise<Readable>;
  /** Removes the object; removing a missing object is not an error. */
  delete(key: string): Promise<void>;
  /** Throws when the store cannot be used (health checks). */
  check(): Promise<void>;
  /**
   * A short-lived URL the client may fetch directly, or null when the store serves bytes itself.
   * `headers` are the download headers the URL must make the store answer with (made by the caller).
   */
  presign(key: string, headers: { contentType: string; contentDisposition: string }): Promise<string | null>;
}

export class BlobNotFoundError extends Error {
  constructor(key: string) {
    super(`no blob at ${key}`);
  }
}

const KEY = /^[a-z0-9_]+(\/[a-z0-9_][a-z0-9_.-]*)*$/;

/** Keys are ours; anything else is a bug, so refuse it rather than touch the disk. */
export function assertKey(key: string): void {
  if (!KEY.test(key) || key.includes('..')) throw new Error(`invalid blob key: ${JSON.stringify(key)}`);
}

export const rawKey = (messageId: string) => `msg/${messageId}/raw.eml`;
export const attachmentKey = (messageId: string, index: number) => `msg/${messageId}/${index}`;
