import pg from 'pg';

/** The LISTEN/NOTIFY channel nodes wake each other on (DESIGN §10). */
export const WAKE_CHANNEL = 'mailhook_wake';

/** What there is new work for: a payload of the notification. */
export type WakeKind = 'deliveries' | 'outbound' | 'events';

/**
 * SQL that wakes every node's `kind` worker once the current transaction commits (a NOTIFY inside
 * a transaction is delivered at COMMIT, and not at all on ROLLBACK): run it in the transaction
 * that queues the work. Polling stays the backstop: a node that was disconnected misses it.
 */
export const wakeSql = (kind: WakeKind) => `SELECT pg_notify('${WAKE_CHANNEL}', '${kind}')`;

/**
 * Listens for wake-ups on one dedicated connection (LISTEN holds its session: it cannot be a
 * pooled one) and calls `onWake` per notification. A lost connection is opened again after a
 * pause; meanwhile the workers' polling carries on. Returns a stop function.
 */
export function listenWakeups(url: string, onWake: (kind: WakeKind) => void, opts: { retryMs?: number } = {}): { ready: Promise<void>; stop(): Promise<void> } {
  let client: pg.Client | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const connect = async () => {
    if (stopped) return;
    const c = new pg.Client({ connectionString: url });
    c.on('notification', (n) => {
      if (n.channel === WAKE_CHANNEL && n.payload) onWake(n.payload as WakeKind);
    });
    c.on('error', () => retry(c));
    try {
      await c.connect();
      await c.query(`LISTEN ${WAKE_CHANNEL}`);
      client = c;
      markReady();
    } catch {
      retry(c);
    }
  };
  const retry = (c: pg.Client) => {
    if (client === c) client = null;
    c.end().catch(() => undefined);
    if (stopped || timer) return;
    timer = setTimeout(() => {
      timer = undefined;
      void connect();
    }, opts.retryMs ?? 1000);
    timer.unref();
  };
  void connect();
  return {
    ready,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await client?.end().catch(() => undefined);
    },
  };
}
