import type { MessageWithDomains, StoredAttachment } from '../db/messages.js';

/** A stored message as its first attempts need it: what acceptInbound just committed. */
export interface HandedOff {
  message: MessageWithDomains;
  attachments: StoredAttachment[];
}

/**
 * Bounds of the hand-off, weighed by twice the raw size (text and html as JS strings). When full,
 * entries older than HANDOFF_MAX_AGE_MS go first (never taken: another node claimed their
 * deliveries, the domain was removed); if that frees too little, the new entry is not kept (its
 * attempts read the rows, as a retry does). Not the oldest: the worker takes due deliveries
 * oldest first, so with a backlog over the bounds (mail accepted faster than the receivers take
 * it) dropping the oldest dropped exactly the entries it was about to take, and every first
 * attempt read its message back (issue 14, fourth part).
 */
export const HANDOFF_MAX_ENTRIES = 2048;
export const HANDOFF_MAX_BYTES = 32 * 1024 * 1024;
export const HANDOFF_MAX_AGE_MS = 60_000;

/**
 * From acceptInbound to the delivery worker, in memory: a message being committed, so that its
 * first attempts build their payload without reading back and re-parsing the row they were
 * queued with (issue 14). The database stays the source of truth: an attempt looks here only
 * for a delivery it claimed, which it can find only once the rows are committed; each of the
 * message's deliveries takes the entry once, and any attempt that finds nothing here (a retry,
 * after a restart, after eviction) reads the rows.
 *
 * The entry goes in before the commit, not after: the rows are visible to the worker's next
 * pass as soon as the transaction commits, while its fsync (sync-thread.ts) and acceptInbound's
 * continuation are still to come, and under load a pass claimed most first attempts in that gap
 * and read every one of those messages back (issue 14, fourth part). A commit that fails takes
 * its entries out again (forget).
 */
export interface Handoff {
  /** Before the commit of its rows: `uses` attempts (one per delivery queued with it) may take it. */
  put(entry: HandedOff, uses: number): void;
  take(messageId: string): HandedOff | null;
  /** Its rows were not committed after all. */
  forget(messageId: string): void;
}

const byOwner = new WeakMap<object, Handoff>();

/** The hand-off of one repository (deps.repos: tests run several in one process). */
export function handoff(repos: object): Handoff {
  let h = byOwner.get(repos);
  if (!h) byOwner.set(repos, (h = createHandoff()));
  return h;
}

export function createHandoff(
  maxEntries = HANDOFF_MAX_ENTRIES,
  maxBytes = HANDOFF_MAX_BYTES,
  maxAgeMs = HANDOFF_MAX_AGE_MS,
  now: () => number = Date.now,
): Handoff {
  // In the order put: the oldest first.
  const entries = new Map<string, { entry: HandedOff; uses: number; weight: number; at: number }>();
  let bytes = 0;
  const drop = (id: string) => {
    const e = entries.get(id);
    if (!e) return;
    entries.delete(id);
    bytes -= e.weight;
  };
  return {
    put(entry, uses) {
      const weight = entry.message.size * 2;
      if (uses <= 0 || weight > maxBytes) return;
      drop(entry.message.id);
      const at = now();
      const fits = () => entries.size < maxEntries && bytes + weight <= maxBytes;
      for (const [id, e] of entries) {
        if (fits() || at - e.at < maxAgeMs) break;
        drop(id);
      }
      if (!fits()) return;
      entries.set(entry.message.id, { entry, uses, weight, at });
      bytes += weight;
    },
    forget: drop,
    take(messageId) {
      const e = entries.get(messageId);
      if (!e) return null;
      if (--e.uses <= 0) drop(messageId);
      return e.entry;
    },
  };
}
