import type { Server } from 'node:http';
import type { DeliveryWorker } from '../deliver/worker.js';
import type { Deps } from '../deps.js';
import type { Logger } from '../log.js';
import type { MailServer } from '../smtp/server.js';

export interface Running {
  smtp: MailServer;
  /** The API and, when METRICS_PORT is set, the metrics listener. */
  http: Server[];
  worker: DeliveryWorker;
  /** The outbound mail queue (src/send/outbound-worker.ts): attempts in flight are re-sent after a restart if cut. */
  outbound?: { stop(): Promise<void> };
  sweeper: { stop(): void };
  /** PostgreSQL's LISTEN connection (src/db/pg/wake.ts); null on SQLite. */
  wakeups?: { stop(): Promise<void> } | null;
  /** The lease reclaimer (PostgreSQL): its lease is released so another node takes over at once. */
  reclaimer?: { stop(): Promise<void> } | null;
}

/** Resolves with true when `p` settled within `ms`, false when the time ran out first. */
async function within(p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Stops listening at once; requests in progress get until `ms`, then their sockets are cut. */
async function closeHttp(server: Server, ms: number): Promise<void> {
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  if (!(await within(closed, ms))) server.closeAllConnections();
}

/**
 * The graceful stop of SIGTERM/SIGINT, bounded by SHUTDOWN_TIMEOUT_MS: SMTP refuses new
 * sessions and transactions with 421 4.3.2 while those in progress finish; webhook attempts in
 * flight end (each is bounded by WEBHOOK_TIMEOUT_MS) and are recorded; the group commit is
 * flushed; the database is closed. An attempt still running at the deadline keeps its open
 * attempt row, which the next start closes as interrupted and re-sends under the same
 * webhook-id, as after a crash.
 */
export async function gracefulStop(deps: Deps, running: Running, timeoutMs: number): Promise<void> {
  const { log } = deps;
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(0, deadline - Date.now());
  running.sweeper.stop();
  await running.wakeups?.stop();
  await running.reclaimer?.stop();
  const [, attemptsDone] = await Promise.all([
    running.smtp.drain(timeoutMs),
    within(running.worker.stop(), timeoutMs),
    ...(running.outbound ? [within(running.outbound.stop(), timeoutMs)] : []),
    ...running.http.map((s) => closeHttp(s, timeoutMs)),
  ]);
  if (!attemptsDone) log.warn('webhook attempts still in flight at the shutdown deadline: they are re-sent after the restart');
  // Everything queued before this no-op write is committed and fsync'd once it resolves.
  const flushed = await within(
    deps.repos.flush().catch((err: unknown) => log.error('final group commit failed', { err })),
    Math.max(left(), 5000),
  );
  if (!flushed) log.error('final group commit did not finish');
  await deps.repos.close();
}

/**
 * First SIGTERM or SIGINT: `stop`, then exit 0 (1 if it failed or hung well past its bound).
 * A second signal exits at once, 128 + signal number like a shell: what got a 250 is already
 * durable (the crash test shows it), only unfinished transactions and attempts are cut.
 */
export function exitOnSignals(
  stop: (signal: NodeJS.Signals) => Promise<void>,
  opts: { log: Logger; timeoutMs: number; exit?: (code: number) => void },
): void {
  const exit = opts.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      opts.log.warn('second signal: exiting now', { signal });
      return exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = true;
    opts.log.info('stopping', { signal, timeoutMs: opts.timeoutMs });
    // The deadline bounds each step; this only catches a step that ignores it.
    setTimeout(() => {
      opts.log.error('stop did not finish in time: exiting');
      exit(1);
    }, opts.timeoutMs + 10_000).unref();
    stop(signal).then(
      () => {
        opts.log.info('stopped');
        exit(0);
      },
      (err: unknown) => {
        opts.log.error('stop failed', { err });
        exit(1);
      },
    );
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
