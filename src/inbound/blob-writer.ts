import { Readable } from 'node:stream';
import type { BlobStore } from '../store/blob-store.js';

/**
 * How many times INLINE_BLOB_BYTES one message may keep in memory for the database: a big
 * message with many small attachments keeps the first ones inline and streams the rest to the
 * BlobStore, so a session never holds more than this until its commit.
 */
export const INLINE_PER_MESSAGE = 4;

/**
 * Where one message's blobs go (DESIGN §3): up to `limit` bytes each (and INLINE_PER_MESSAGE ×
 * `limit` in all) they are kept in memory for the group commit that stores the message rows;
 * anything larger is streamed to the BlobStore as it arrives, its first bytes included, so
 * memory stays bounded by `limit` per blob whatever its size.
 */
export function blobWriter(store: BlobStore, limit: number) {
  /** Blobs for the `blobs` table, by key. */
  const inline = new Map<string, Buffer>();
  /** Keys written to the BlobStore (removed again if the message fails). */
  const stored: string[] = [];
  let budget = limit * INLINE_PER_MESSAGE;

  const toStore = async (key: string, body: Readable | Buffer) => {
    stored.push(key);
    await store.put(key, body);
  };

  return {
    inline,
    stored,
    async write(key: string, body: Readable | Buffer): Promise<void> {
      if (Buffer.isBuffer(body)) {
        if (body.length > limit || body.length > budget) return toStore(key, body);
        budget -= body.length;
        inline.set(key, body);
        return;
      }
      const chunks = body[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
      const head: Buffer[] = [];
      let size = 0;
      for (;;) {
        const next = await chunks.next();
        if (next.done) {
          inline.set(key, Buffer.concat(head, size));
          return;
        }
        head.push(next.value);
        size += next.value.length;
        budget -= next.value.length;
        if (size > limit || budget < 0) break;
      }
      budget += size;
      // Too big for the database: the bytes read so far, then the rest of the same stream.
      async function* rest() {
        yield* head.splice(0);
        for (;;) {
          const next = await chunks.next();
          if (next.done) return;
          yield next.value;
        }
      }
      return toStore(key, Readable.from(rest(), { objectMode: false }));
    },
    /**
     * Forgets every blob written so far and removes those in the BlobStore (a parse that stopped
     * to start again elsewhere, src/inbound/accept.ts); nothing may still be writing. Keys whose
     * removal failed stay listed, for the caller's cleanup to try again.
     */
    async discard(): Promise<void> {
      inline.clear();
      budget = limit * INLINE_PER_MESSAGE;
      const keys = stored.splice(0);
      const failed: string[] = [];
      let error: unknown = null;
      await Promise.all(
        keys.map((k) =>
          store.delete(k).catch((err: unknown) => {
            failed.push(k);
            error ??= err;
          }),
        ),
      );
      stored.push(...failed);
      if (failed.length > 0) throw error;
    },
    /** Another account's copy of an inline blob: the same bytes under its own key. */
    copyInline(from: string, to: string): boolean {
      const data = inline.get(from);
      if (!data) return false;
      inline.set(to, data);
      return true;
    },
  };
}
