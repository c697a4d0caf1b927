import pg from 'pg';
import type { Logger } from '../../log.js';
import type { Wake, WakeTopic } from '../wake.js';

const CHANNEL = 'mailhook_wake';
/** After the listening connection drops: try again this often (polling covers the gap). */
const RECONNECT_MS = 2000;

/**
 * Wake-ups between nodes through LISTEN/NOTIFY (DESIGN §10): a node that queued work tells the
 * others at once instead of leaving it to their next poll. Best effort by design: a lost
 * notification (no listener connected, the connection dropping) only costs the poll interval.
 * One dedicated connection listens; a NOTIFY per topic is in flight at most once, so a burst of
 * stored messages sends a handful of notifications, not one each.
 */
export function pgWake(url: string, log: Logger): Wake {
  const handlers = new Map<WakeTopic, Set<() => void>>();
  const sending = new Set<WakeTopic>();
  const again = new Set<WakeTopic>();
  let closed = false;
  let listener: pg.Client | null = null;
  let retry: NodeJS.Timeout | undefined;
  const notifier = new pg.Client({ connectionString: url });
  const notifierReady = notifier.connect().then(
    () => true,
    (err: unknown) => (log.warn('wake-ups: cannot connect to notify', { err }), false),
  );
  notifier.on('error', () => undefined); // a dropped connection: notify() just stops reaching others

  const listen = async () => {
    if (closed || handlers.size === 0 || listener) return;
    const client = new pg.Client({ connectionString: url });
    listener = client;
    const lost = (err?: unknown) => {
      if (listener !== client) return;
      listener = null;
      void client.end().catch(() => undefined);
      if (closed) return;
      log.warn('wake-ups: listening connection lost; polling until it is back', { err });
      retry = setTimeout(() => void listen(), RECONNECT_MS).unref();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    client.on('notification', (n) => {
      for (const fn of handlers.get(n.payload as WakeTopic) ?? []) fn();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
    } catch (err) {
      lost(err);
    }
  };

  const send = (topic: WakeTopic) => {
    if (closed) return;
    if (sending.has(topic)) return void again.add(topic);
    sending.add(topic);
    void notifierReady
      .then((ok) => (ok ? notifier.query('SELECT pg_notify($1, $2)', [CHANNEL, topic]) : null))
      .catch(() => undefined)
      .finally(() => {
        sending.delete(topic);
        // Work queued while this one was in flight may have been missed by a node that just looked.
        if (again.delete(topic)) send(topic);
      });
  };

  return {
    notify: send,
    on(topic, fn) {
      const set = handlers.get(topic) ?? new Set();
      set.add(fn);
      handlers.set(topic, set);
      void listen();
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      const l = listener;
      listener = null;
      await Promise.all([l?.end().catch(() => undefined), notifierReady.then(() => notifier.end()).catch(() => undefined)]);
    },
  };
}
