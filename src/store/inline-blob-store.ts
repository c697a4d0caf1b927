import { Readable } from 'node:stream';
import type { Repository } from '../db/repository.js';
import type { BlobStore } from './blob-store.js';

type InlineBlobs = Repository['blobs'];

/**
 * The one read path for blobs: a key is looked up among the small blobs kept in the database
 * (written by the group commit with their message, src/inbound/blob-writer.ts) and otherwise in
 * the BlobStore (files or S3). Links, downloads, copies, retention and deletes call this and
 * never ask where a blob lives. Writes of new inline blobs do not come through here: they must
 * join the message's own transaction, so `put` always writes to the BlobStore.
 */
export function withInlineBlobs(inline: InlineBlobs, store: BlobStore): BlobStore {
  return {
    kind: store.kind,
    put: (key, body) => store.put(key, body),
    async get(key) {
      const data = await inline.get(key);
      return data ? Readable.from([data], { objectMode: false }) : store.get(key);
    },
    async delete(key) {
      if ((await inline.delete([key])) === 0) await store.delete(key);
    },
    check: () => store.check(),
    // A blob in the database has no URL of its own: the link streams it.
    presign: async (key, headers) => ((await inline.has(key)) ? null : store.presign(key, headers)),
  };
}
