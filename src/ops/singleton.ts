import type { Logger } from '../log.js';

/** Lease rows of singletons (DESIGN §10; `repos.leases`): one holder per name until `until`. */
export interface LeaseStore {
  /** Takes lease `name` for `holder` until now + ttlMs if it is free, expired or already `holder`'s; true when held. */
  acquire(name: string, holder: string, now: number, ttlMs: number): Promise<boolean>;
  /** Gives the lease up at once (a clean stop), so another node need not wait for it to expire. */
  release(name: string, holder: string): Promise<unknown>;
}

export interface Singleton {
  /** Whether this node held the lease at its last renewal. */
  holding(): boolean;
  /** Stops renewing and running, waits for a run in progress, and releases the lease. */
  stop(): Promise<void>;
}

export interface SingletonOptions {
  name: string;
  holder: string;
  /** How often the task runs while this node holds the lease. */
  everyMs: number;
  /** How long a lease lasts without renewal: a dead holder's task moves to another node after this. */
  leaseMs: number;
  now: () => number;
  log: Logger;
}

/**
 * Runs `task` every `everyMs` on exactly one of the nodes sharing `leases` (the sweeper, the
 * lease reclaimer). Each node tries to take or renew the lease every leaseMs / 3; the holder
 * runs the task when it is due (at once on taking the lease), one run at a time. A holder that
 * dies stops renewing, and another node takes over once its lease has run out. The tasks are
 * idempotent, so a run overlapping a takeover (a holder stalled past its lease) does no harm.
 */
export function startSingleton(leases: LeaseStore, o: SingletonOptions, task: () => Promise<unknown>): Singleton {
  let held = false;
  let stopped = false;
  let lastRun = -Infinity;
  let running: Promise<void> | null = null;
  let timer: NodeJS.Timeout | undefined;

  const run = () => {
    lastRun = o.now();
    running = task()
      .then(
        () => undefined,
        (err: unknown) => o.log.error(`${o.name} failed`, { err }),
      )
      .finally(() => {
        running = null;
      });
  };

  const tick = async () => {
    try {
      const now = o.now();
      const was = held;
      held = await leases.acquire(o.name, o.holder, now, o.leaseMs);
      if (held && !was) o.log.info(`${o.name}: this node runs it`, { holder: o.holder });
      if (!held && was) o.log.warn(`${o.name}: lease lost to another node`);
      if (held && !running && !stopped && o.now() - lastRun >= o.everyMs) run();
    } catch (err) {
      held = false; // cannot renew: assume lost rather than run beside a new holder
      o.log.warn(`${o.name}: could not renew its lease`, { err });
    }
    if (!stopped) timer = setTimeout(() => void tick(), Math.max(50, Math.floor(o.leaseMs / 3))).unref();
  };
  void tick();

  return {
    holding: () => held,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
      if (held) await leases.release(o.name, o.holder).then(() => undefined, () => undefined);
      held = false;
    },
  };
}
