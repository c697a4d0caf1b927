import { destinationOf, type Delivery, type NewDeliveryRow } from '../db/deliveries.js';

/**
 * First attempts born leased (issue 14): from acceptInbound to this node's running delivery
 * worker. Before storeInbound, a delivery whose destination has room in the worker's pools (or in
 * its bounded waiting line) is given a place and a lease; it is then written leased in the
 * message's own transaction with its attempt row (attempts 1, next_attempt_at = the lease's end),
 * and once that commit is durable the worker posts it from memory: no pass reads it back, no
 * claim commits before the request. Every other delivery (no room, a retry, after a restart,
 * another node's) goes through the worker's passes as before. A row written leased whose post
 * never ends (the process stopped) is due again when its lease ends; SQLite's start-up recovery
 * closes its open attempt and makes it due at once, as for any claimed row.
 */
export interface Place {
  readonly dest: string;
  /** The lease the row is written with: covers the wait for a slot, the attempt and its record. */
  readonly leaseUntil: number;
}

export interface BornLeased {
  /** Before the commit: a place for a first attempt to `dest`, counted in the pools from now, or null (the passes take it). */
  reserve(dest: string, now: number): Place | null;
  /** The row is durable, leased, with attempt `attemptId` open: post it (now or when its place in line comes). */
  start(place: Place, d: Delivery, attemptId: number): void;
  /** The row was not written, or not known durable: the place goes back, nothing is posted. */
  cancel(place: Place): void;
  /**
   * After the commit: deliveries of it were written without a place (due now), for the passes.
   * The worker runs a pass only for those: a message whose deliveries were all born leased needs none.
   */
  leftToPasses(): void;
}

const byOwner = new WeakMap<object, BornLeased>();

/** The running worker of one repository (deps.repos), if any takes first attempts from memory. */
export function bornLeased(repos: object): BornLeased | undefined {
  return byOwner.get(repos);
}

/** The worker starts (b) or stops (undefined) taking first attempts from memory. */
export function setBornLeased(repos: object, b: BornLeased | undefined, current?: BornLeased): void {
  if (b) byOwner.set(repos, b);
  else if (byOwner.get(repos) === current) byOwner.delete(repos);
}

/** The row deliveries.insert wrote for `d` with `place`'s lease at `now`, as a claim would return it. */
export function leasedDelivery(d: NewDeliveryRow, place: Place, now: number): Delivery {
  return {
    id: d.id,
    userId: d.userId,
    messageId: d.messageId,
    routeId: d.routeId,
    domainId: d.domainId,
    url: d.url,
    secret: d.secret,
    payload: d.payload ?? 'json',
    dest: d.dest ?? destinationOf(d.url),
    status: 'pending',
    attempts: 1,
    nextAttemptAt: place.leaseUntil,
    lastStatus: null,
    lastError: null,
    createdAt: now,
    updatedAt: now,
  };
}

/** The lease of an attempt covers the request (WEBHOOK_TIMEOUT_MS bounds it) plus time to record the result. */
export const LEASE_MARGIN_MS = 30_000;
/**
 * First attempts born leased beyond a destination's room wait in memory for a slot: at most
 * WAIT_ROUNDS times its limit per destination and WAIT_ROUNDS times the global pool in all. Their
 * lease covers the wait: each round of a destination's limit ends within WEBHOOK_TIMEOUT_MS, so the
 * last in line starts within WAIT_ROUNDS of those while its limit holds; one whose lease no longer
 * covers an attempt when its turn comes (the limit was cut meanwhile) is not posted, and is due
 * again when its lease ends.
 */
export const WAIT_ROUNDS = 4;

/** What the hand-over needs of the delivery worker (src/deliver/worker.ts): its pools and its attempts. */
export interface WorkerPools {
  /** WEBHOOK_CONCURRENCY, the global pool. */
  readonly concurrency: number;
  /** WEBHOOK_TIMEOUT_MS. */
  readonly timeoutMs: number;
  now(): number;
  /** Whether one more attempt to `dest` may start now, by the pass's rules. */
  mayStart(dest: string): boolean;
  limitOf(dest: string): number;
  /** Takes a slot of `dest` in the pools. */
  hold(dest: string): void;
  /** Gives a slot back (and lets whatever waits for one go). */
  freeSlot(dest: string): void;
  /** Whether `dest` has due rows the last pass could not all take: its new first attempts queue behind them, in the table. */
  backlogged(dest: string): boolean;
  /** Deliveries in flight, by id: neither a pass nor anything else takes them. */
  readonly inflightIds: Set<string>;
  /** Posts a leased delivery whose slot is held; resolves once its outcome is recorded. */
  launch(d: Delivery, attemptId: number, full: boolean): Promise<void>;
  /** An attempt started outside a pass: the loop's stop() and runOnce() wait for it. */
  track(attempt: Promise<void>): void;
  /** Rows are in the table for the passes (due now, or at a lease's end): a pass is due. */
  leftToPasses(): void;
}

/**
 * The worker's side of the hand-over: `born` goes to acceptInbound (setBornLeased); `drain` starts
 * the first attempts waiting in memory that have room now (the worker calls it when a slot frees).
 * A place is a slot held from reserve() on, or a place in the destination's waiting line; either
 * counts in the pools from then, so neither the passes nor other first attempts overfill a
 * destination or the global pool.
 */
export function createBornLeased(pools: WorkerPools): { born: BornLeased; drain(): void } {
  interface Waiting {
    d: Delivery;
    attemptId: number;
    leaseUntil: number;
    done(attempt?: Promise<void>): void;
  }
  interface HeldPlace extends Place {
    held: boolean;
  }
  const lines = new Map<string, Waiting[]>();
  const waitingAt = new Map<string, number>(); // places in line: reserved, or written and queued
  let waitingTotal = 0;
  const unwait = (dest: string) => {
    const n = (waitingAt.get(dest) ?? 1) - 1;
    if (n > 0) waitingAt.set(dest, n);
    else waitingAt.delete(dest);
    waitingTotal--;
  };
  let starting: (() => void)[] = [];
  const startAll = () => {
    const batch = starting;
    starting = [];
    for (const go of batch) go();
  };

  /** Starts the first attempts waiting in memory that their destination and the pool have room for. */
  function drain(): void {
    for (const [dest, line] of lines) {
      while (line.length > 0 && pools.mayStart(dest)) {
        const w = line.shift()!;
        unwait(dest);
        if (pools.now() + pools.timeoutMs + LEASE_MARGIN_MS > w.leaseUntil) {
          // Its lease no longer covers an attempt: the row is due again when it ends, and a pass claims it then.
          pools.inflightIds.delete(w.d.id);
          w.done();
          pools.leftToPasses();
          continue;
        }
        pools.hold(dest);
        w.done(pools.launch(w.d, w.attemptId, true));
      }
      if (line.length === 0) lines.delete(dest);
    }
  }

  const born: BornLeased = {
    reserve(dest, now) {
      if (pools.backlogged(dest)) return null;
      const waiting = waitingAt.get(dest) ?? 0;
      if (waiting === 0 && pools.mayStart(dest)) {
        pools.hold(dest);
        return { dest, leaseUntil: now + pools.timeoutMs + LEASE_MARGIN_MS, held: true } satisfies HeldPlace;
      }
      if (waitingTotal >= WAIT_ROUNDS * pools.concurrency || waiting >= WAIT_ROUNDS * pools.limitOf(dest)) return null;
      waitingAt.set(dest, waiting + 1);
      waitingTotal++;
      return { dest, leaseUntil: now + (1 + WAIT_ROUNDS) * pools.timeoutMs + LEASE_MARGIN_MS, held: false } satisfies HeldPlace;
    },
    start(place, d, attemptId) {
      pools.inflightIds.add(d.id);
      if ((place as HeldPlace).held) {
        // Launched together after this turn: the messages of one group commit resume in one turn,
        // and their 250s go out before their requests are built.
        const full = waitingAt.has(d.dest) || pools.backlogged(d.dest);
        if (starting.push(() => pools.track(pools.launch(d, attemptId, full))) === 1) setImmediate(startAll);
        return;
      }
      let line = lines.get(d.dest);
      if (!line) lines.set(d.dest, (line = []));
      const l = line;
      pools.track(new Promise<void>((resolve) => l.push({ d, attemptId, leaseUntil: place.leaseUntil, done: (a) => void (a ?? Promise.resolve()).finally(resolve) })));
      drain();
    },
    cancel(place) {
      if ((place as HeldPlace).held) pools.freeSlot(place.dest);
      else unwait(place.dest);
      // A row written leased after all (committed, not known durable) is due when its lease ends: a pass learns when.
      pools.leftToPasses();
    },
    leftToPasses: pools.leftToPasses,
  };
  return { born, drain };
}
