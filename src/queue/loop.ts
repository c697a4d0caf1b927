import type { Logger } from '../log.js';
import { onePassAtATime } from './one-pass.js';

/**
 * The scheduling both durable queues share (webhook deliveries, DESIGN §6; outbound mail, §9):
 * a pass starts what is due, then the loop sleeps until the next due time (at most POLL_MS) or a
 * kick (new rows committed, a slot freed). What a pass claims and how it attempts is the
 * queue's own; the loop keeps the attempts in flight, so that stop() and runOnce() can wait for
 * them.
 */
export interface QueueLoop {
  /** Re-queues what a stop left open (`recover`), then runs: timer + kicks. */
  start(): void;
  /** Run a pass now rather than at the next timer. */
  kick(): void;
  /** Stops scheduling; waits for claims being committed, then (bounded) for attempts in flight. */
  stop(): Promise<void>;
  /** One pass; resolves when its attempts and any already in flight have finished and been recorded. For tests (fake clock). */
  runOnce(): Promise<void>;
  /** An attempt started outside a pass (a first attempt born leased): stop() and runOnce() wait for it too. */
  track(attempt: Promise<void>): void;
}

export interface QueueLoopOptions {
  /** Names the queue in the log. */
  name: string;
  log: Logger;
  /**
   * Starts the due attempts the pools allow. `launched` resolves, once their claims are
   * committed, to the attempts started (each resolves when its outcome is recorded); `wakeIn`
   * is the time to the next due row, in ms.
   */
  pass(): Promise<{ launched: Promise<Promise<void>[]>; wakeIn: number }>;
  /** Closes the attempts a crash or stop left open, so they are due again. Passes wait for it. */
  recover(): Promise<void>;
  /** How long stop() waits for attempts in flight. */
  stopWaitMs: number;
}

/** Safety net: even with no known due time, look again this often (retries by hand, other writers). */
export const POLL_MS = 1000;

export function createQueueLoop(opts: QueueLoopOptions): QueueLoop {
  const running = new Set<Promise<void>>();
  const claiming = new Set<Promise<unknown>>();
  let started = false;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let kickQueued = false;

  let recovered: Promise<void> = Promise.resolve();

  // One pass at a time: a pass reads the queue, then updates the in-memory slots, which must not
  // interleave. The pass ends once its rows are picked and held; their claim commits on its own
  // (tracked in `claiming`), so the next pass does not wait for it.
  const track = (p: Promise<void>) => {
    running.add(p);
    void p.finally(() => running.delete(p));
  };

  const passOnce = onePassAtATime(async (): Promise<{ tracked: Promise<Promise<void>[]> }> => {
    let launched: Promise<Promise<void>[]> = Promise.resolve([]);
    let wakeIn = POLL_MS;
    try {
      await recovered;
      ({ launched, wakeIn } = await opts.pass());
    } catch (err) {
      opts.log.error(`${opts.name} pass failed`, { err });
    }
    const tracked = launched.then(
      (attempts) => {
        for (const p of attempts) track(p);
        return attempts;
      },
      (err: unknown) => {
        opts.log.error(`${opts.name} pass failed`, { err });
        return [];
      },
    );
    claiming.add(tracked);
    void tracked.finally(() => claiming.delete(tracked));
    if (started) {
      clearTimeout(timer);
      timer = setTimeout(() => void runPass(), Math.max(0, wakeIn)).unref();
    }
    return { tracked }; // wrapped: returning the promise itself would make the pass wait for the claim
  });

  let passing: Promise<unknown> = Promise.resolve();
  function runPass(): Promise<Promise<void>[]> {
    if (stopping) return Promise.resolve([]);
    const p = passOnce();
    passing = p;
    return p.then((r) => r.tracked);
  }

  function kick(): void {
    if (!started || stopping || kickQueued) return;
    kickQueued = true;
    setImmediate(() => {
      kickQueued = false;
      if (started) void runPass();
    });
  }

  return {
    start() {
      if (started) return;
      started = true;
      stopping = false;
      recovered = opts.recover().catch((err: unknown) => opts.log.error(`${opts.name}: could not recover interrupted attempts`, { err }));
      void runPass();
    },
    kick,
    track,
    async stop() {
      started = false;
      stopping = true;
      clearTimeout(timer);
      let bound: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => (bound = setTimeout(resolve, opts.stopWaitMs)));
      // A pass under way picks and claims; claims being committed launch their attempts: wait
      // for those, then for every attempt.
      await passing.catch(() => undefined);
      await Promise.allSettled([...claiming]);
      await Promise.race([Promise.allSettled([...running]), limit]);
      clearTimeout(bound);
    },
    async runOnce() {
      const launched = await runPass();
      // Claims of earlier passes still committing launch attempts too: those count as in flight.
      await Promise.allSettled([...claiming]);
      await Promise.allSettled([...launched, ...running]);
    },
  };
}
