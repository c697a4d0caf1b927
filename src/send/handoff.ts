import type { Send } from '../db/sends.js';

/** A send as its first attempts need it: what submitSend just committed. */
export interface FreshSend {
  send: Send;
  raw: Buffer;
}

/** Bounds of the hand-off: entries beyond them are dropped, oldest first (their attempts read the rows). */
export const SEND_HANDOFF_MAX_ENTRIES = 2048;
export const SEND_HANDOFF_MAX_BYTES = 32 * 1024 * 1024;

/**
 * From submitSend to the outbound worker, in memory (issue 12; the inbound side has the same in
 * src/deliver/handoff.ts): a send just committed, so that its first attempt at each destination
 * does not read back the send row and its raw bytes. The database stays the source of truth: an
 * entry is added only after the commit that made the send durable, the worker still claims the
 * recipients in the database before using it (DESIGN §9), each destination's attempt takes it
 * once, and an attempt that finds nothing here (a retry, after a restart, after eviction) reads
 * the rows.
 */
export interface SendHandoff {
  /** After the commit: `uses` attempts (one per destination of its recipients) may take it. */
  put(entry: FreshSend, uses: number): void;
  take(sendId: string): FreshSend | null;
}

const byOwner = new WeakMap<object, SendHandoff>();

/** The hand-off of one repository (deps.repos: tests run several in one process). */
export function sendHandoff(repos: object): SendHandoff {
  let h = byOwner.get(repos);
  if (!h) byOwner.set(repos, (h = createSendHandoff()));
  return h;
}

export function createSendHandoff(maxEntries = SEND_HANDOFF_MAX_ENTRIES, maxBytes = SEND_HANDOFF_MAX_BYTES): SendHandoff {
  const entries = new Map<string, { entry: FreshSend; uses: number }>();
  let bytes = 0;
  const drop = (id: string) => {
    const e = entries.get(id);
    if (!e) return;
    entries.delete(id);
    bytes -= e.entry.raw.length;
  };
  return {
    put(entry, uses) {
      if (uses <= 0 || entry.raw.length > maxBytes) return;
      drop(entry.send.id);
      entries.set(entry.send.id, { entry, uses });
      bytes += entry.raw.length;
      for (const id of entries.keys()) {
        if (entries.size <= maxEntries && bytes <= maxBytes) break;
        drop(id);
      }
    },
    take(sendId) {
      const e = entries.get(sendId);
      if (!e) return null;
      if (--e.uses <= 0) drop(sendId);
      return e.entry;
    },
  };
}
