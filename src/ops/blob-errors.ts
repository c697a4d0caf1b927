import { BlobNotFoundError, type BlobStore } from '../store/blob-store.js';
import type { BlobOp } from './metrics.js';

/**
 * The same store, counting its failures for /metrics. A missing object is an answer, not a
 * failure of the store (an expired link, a message deleted meanwhile), so it is not counted.
 */
export function countBlobErrors(store: BlobStore, onError: (op: BlobOp) => void): BlobStore {
  const watch = <T>(op: BlobOp, p: Promise<T>): Promise<T> =>
    p.catch((err: unknown) => {
      if (!(err instanceof BlobNotFoundError)) onError(op);
      throw err;
    });
  return {
    kind: store.kind,
    put: (key, body) => watch('put', store.put(key, body)),
    get: (key) => watch('get', store.get(key)),
    delete: (key) => watch('delete', store.delete(key)),
    check: () => watch('check', store.check()),
    presign: (key, headers) => watch('presign', store.presign(key, headers)),
  };
}
