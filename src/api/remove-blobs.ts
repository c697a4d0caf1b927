import type { Deps } from '../deps.js';

/**
 * Deletes objects after their rows are gone. Best effort: a failure leaves an orphan object
 * (logged, and harmless: no row points at it), never a row pointing at a missing object.
 */
export async function removeBlobs(deps: Deps, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 32) {
    await Promise.all(
      keys.slice(i, i + 32).map((key) => deps.blobs.delete(key).catch((err) => deps.log.warn('blob delete failed', { key, err }))),
    );
  }
}
