/** What a node tells the others it queued: webhook deliveries, or outgoing mail and its events. */
export type WakeTopic = 'deliveries' | 'sends';

/**
 * Wake-ups between the nodes of one database (DESIGN §10). On PostgreSQL, LISTEN/NOTIFY
 * (src/db/pg/wake.ts); on SQLite there is one process and its workers are kicked directly, so
 * both are no-ops. Never a guarantee: every worker still polls.
 */
export interface Wake {
  /** Tells the other nodes that `topic` has new work. Fire and forget. */
  notify(topic: WakeTopic): void;
  /** Calls `fn` when another node (or this one) notifies `topic`. */
  on(topic: WakeTopic, fn: () => void): void;
  close(): Promise<void>;
}

export const noWake: Wake = {
  notify: () => undefined,
  on: () => undefined,
  close: () => Promise.resolve(),
};
