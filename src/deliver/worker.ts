import type { Delivery } from '../db/deliveries.js';
import type { Deps } from '../deps.js';
import { createQueueLoop, POLL_MS, type QueueLoop } from '../queue/loop.js';
import { createSlots } from '../queue/slots.js';
import { createAttempt } from './attempt.js';
import { createAdaptiveLimits } from './limit.js';
import { createBornLeased, LEASE_MARGIN_MS, setBornLeased } from './born.js';

/**
 * The durable webhook queue (DESIGN §6, invariant 3). The database is the queue: a delivery
 * row is due when status = 'pending' and next_attempt_at <= now. Each attempt is recorded
 * before the request goes out and finished after it, so a crash leaves an open attempt row
 * that start() closes and re-sends, under the same webhook-id (the delivery id).
 */
export type DeliveryWorker = QueueLoop;
/**
 * Due rows read per destination at a time, kept for the next passes (issue 14): a destination at
 * its cap takes one or two rows per pass (as slots free), and each read of the queue costs as
 * much as several rows. At most READ_AHEAD_TOTAL rows are kept over all destinations.
 */
export const READ_AHEAD = 32;
export const READ_AHEAD_TOTAL = 4096;
export const INTERRUPTED = 'interrupted (process stopped)';

export function createDeliveryWorker(deps: Deps, opts: { random?: () => number } = {}): DeliveryWorker {
  const { config, repos, log } = deps;
  // Requests in flight per destination and in all (the global pool, fixed); each destination may
  // have its adaptive limit in flight (src/deliver/limit.ts), the slots' own cap being its ceiling.
  const slots = createSlots(config.webhookConcurrency, config.webhookConcurrencyPerDestination);
  const limits = createAdaptiveLimits(config.webhookConcurrencyPerDestination);
  const inflightAt = slots.inflightAt;
  const inflightIds = new Set<string>(); // claimed and not yet recorded as finished
  const answering = new Set<string>(); // destinations whose last attempt got a response in time
  const attempt = createAttempt(deps, { limits, answering, random: opts.random ?? Math.random });

  /**
   * Due rows read ahead, per destination, oldest first: a pass takes from here and reads the
   * queue only when fewer are left than it may take. Taking them in this order keeps the queue's
   * (longest-waiting first): these were the oldest due rows when read, and a row that becomes due
   * later does so with a later next_attempt_at (inserted, requeued, recovered or retried: all at
   * or after that moment). Rows are only candidates: the claim takes each one only if it is
   * still pending and due, so a row changed since (claimed by another node, its domain deleted)
   * is released, and its destination's rows are read again. Kept at most POLL_MS. SQLite only.
   */
  const ahead = new Map<string, { rows: Delivery[]; at: number; cut: boolean }>();
  // On PostgreSQL other nodes claim the same rows: rows read ahead there would mostly be lost to
  // them (each loss a wasted claim and a new read), so each pass reads what it may take, as before.
  const readAhead = repos.engine === 'sqlite' ? READ_AHEAD : 0;
  /** Due rows of `dest` to take from, and whether the read stopped at its limit (more may be due). */
  const dueRows = async (dest: string, now: number, need: number): Promise<{ rows: Delivery[]; cut: boolean }> => {
    // One more than it may take: whether more is due than its limit lets start (the limit grows only then).
    if (readAhead === 0) {
      const read = await repos.deliveries.dueFor(dest, now, need + 1);
      return { rows: read.filter((r) => !inflightIds.has(r.id)), cut: read.length >= need + 1 };
    }
    const a = ahead.get(dest);
    if (a && now - a.at < POLL_MS) {
      while (a.rows.length > 0 && inflightIds.has(a.rows[0]!.id)) a.rows.shift();
      if (a.rows.length >= need) return a;
    }
    let kept = 0;
    for (const [d, b] of ahead) if (d !== dest) kept += b.rows.length;
    const limit = kept + Math.max(need, readAhead) <= READ_AHEAD_TOTAL ? Math.max(need, readAhead) : need;
    // Rows being claimed (held) still read as due until their claim commits: not candidates.
    const read = await repos.deliveries.dueFor(dest, now, limit);
    const got = { rows: read.filter((r) => !inflightIds.has(r.id)), at: now, cut: read.length >= limit };
    ahead.set(dest, got);
    return got;
  };

  /** Destinations whose due rows the last pass could not all take: their new first attempts queue behind them, in the table. */
  const backlog = new Set<string>();
  /**
   * Whether rows may be due that only a pass takes (issue 14, session 15): set when the last pass
   * left due rows behind (no room, or it failed) and whenever rows are left to the passes (written
   * without a place in the pools, a place given back, a claim lost); a pass clears it as it
   * starts, since it reads them. A freed slot runs a pass only then: with every first attempt born
   * leased there is nothing for one to find. Rows due later (retries, leases ending) wake the loop
   * by its timer, and rows this worker never sees (another node's) by its poll (POLL_MS) or a kick.
   */
  let owed = true;
  const leftToPasses = () => {
    owed = true;
    loop.kick();
  };
  const reserveOf = () => Math.floor(config.webhookConcurrency / 4);
  /** Whether one more attempt to `dest` may start now: the pass's rules (below), for born-leased attempts. */
  const mayStart = (dest: string): boolean => {
    const free = config.webhookConcurrency - slots.busy;
    const at = inflightAt(dest);
    return free > 0 && at < limits.limitOf(dest) && (at === 0 || free > reserveOf() || answering.has(dest));
  };

  /**
   * Starts as many due attempts as the pools allow. Fairness, so that dead destinations with
   * thousands of due rows never hold up a healthy one:
   * - a destination has at most its current limit in flight (adaptive, under the
   *   WEBHOOK_CONCURRENCY_PER_DESTINATION ceiling: src/deliver/limit.ts);
   * - destinations with the fewest in flight go first, then the longest-waiting, one slot
   *   each per round (round-robin), never all slots to the first in line;
   * - the last quarter of the global pool is kept for destinations with nothing in flight, so
   *   even several dead destinations at their cap cannot fill the pool: a healthy destination
   *   always finds a slot unless that many distinct destinations are busy at once;
   * - a destination whose last attempt got an answer (any status, in time) may also use that
   *   reserve up to its limit: next to dead destinations holding the rest of the pool, a healthy
   *   one still runs its limit of requests at once, not one.
   */
  async function pass(): Promise<{ launched: Promise<Promise<void>[]>; wakeIn: number }> {
    const now = deps.now();
    const reserve = reserveOf();
    // Counted afresh at each step: first attempts born leased take slots while this pass awaits its reads.
    const freeNow = () => config.webhookConcurrency - slots.busy;
    // Every slot busy: nothing to start, and a freed slot kicks the loop.
    if (freeNow() <= 0) {
      owed = true;
      return { launched: Promise.resolve([]), wakeIn: POLL_MS };
    }
    const dests = await repos.deliveries.pendingDestinations();
    // A destination with nothing due (any more) has nothing to read ahead.
    const dueDests = new Set(dests.filter((d) => d.nextAt <= now).map((d) => d.dest));
    for (const dest of ahead.keys()) if (!dueDests.has(dest)) ahead.delete(dest);
    let active = dests
      .filter((d) => d.nextAt <= now && inflightAt(d.dest) < limits.limitOf(d.dest))
      .sort((a, b) => inflightAt(a.dest) - inflightAt(b.dest) || a.nextAt - b.nextAt);
    const queues = new Map<string, { rows: Delivery[]; taken: number; cut: boolean }>();
    const picked: Delivery[] = [];
    while (freeNow() > 0 && active.length > 0) {
      const stillActive: typeof active = [];
      for (const d of active) {
        // Each pick is held at once (below), so inflightAt counts this pass's picks too.
        const mayTake = () => {
          const free = freeNow();
          const at = inflightAt(d.dest);
          return free > 0 && !(at > 0 && free <= reserve && !answering.has(d.dest)) && at < limits.limitOf(d.dest);
        };
        if (!mayTake()) continue;
        let q = queues.get(d.dest);
        if (!q) {
          const due = await dueRows(d.dest, now, limits.limitOf(d.dest) - inflightAt(d.dest));
          queues.set(d.dest, (q = { rows: due.rows, taken: 0, cut: due.cut }));
          if (!mayTake()) continue; // the read ahead may be more than the destination's limit leaves room for
        }
        let row = q.rows.shift();
        while (row && inflightIds.has(row.id)) row = q.rows.shift(); // requeued by retryNow while in flight
        if (!row) continue;
        // Held until the claim commits, so neither a pass nor a born-leased attempt meanwhile picks it again or overfills a destination.
        hold(row);
        picked.push(row);
        q.taken++;
        stillActive.push(d);
      }
      active = stillActive;
    }
    // Due rows left behind (no room, or more than read): new first attempts there wait their turn in the table.
    backlog.clear();
    for (const dest of dueDests) {
      const q = queues.get(dest);
      if (!q || q.cut || q.rows.some((r) => !inflightIds.has(r.id))) backlog.add(dest);
    }
    if (backlog.size > 0) owed = true;
    let wakeIn = POLL_MS;
    for (const d of dests) if (d.nextAt > now) wakeIn = Math.min(wakeIn, d.nextAt - now);
    if (picked.length === 0) return { launched: Promise.resolve([]), wakeIn };
    // Destinations that filled their limit with rows still due: their answers may raise it.
    const full = new Set<string>();
    for (const [dest, q] of queues) {
      if (q.taken > 0 && inflightAt(dest) >= limits.limitOf(dest) && q.rows.some((r) => !inflightIds.has(r.id))) full.add(dest);
    }

    const ids = picked.map((d) => d.id);
    const leaseUntil = now + config.webhookTimeoutMs + LEASE_MARGIN_MS;
    // The attempt rows are durable before any request goes out; claims share the group commit.
    const launched: Promise<Promise<void>[]> = repos.deliveries
      .claim(ids, now, leaseUntil, new Map(picked.map((d) => [d.id, d])))
      .then(
        (claimed) => {
          const started = new Set(claimed.map((c) => c.delivery.id));
          for (const d of picked) if (!started.has(d.id)) lost(d);
          return claimed.map(({ delivery, attemptId }) => launch(delivery, attemptId, full.has(delivery.dest)));
        },
        (err: unknown) => {
          log.error('could not claim deliveries', { err });
          for (const d of picked) lost(d);
          return [];
        },
      );
    return { launched, wakeIn };
  }

  function hold(d: Delivery): void {
    slots.hold(d.dest);
    inflightIds.add(d.id);
  }

  /** The request is over: its slot goes back to the pools (its result may still be committing). */
  function freeSlot(dest: string): void {
    slots.release(dest);
    hand.drain(); // first attempts waiting in memory go first: their rows are leased, no pass can take them
    if (owed) loop.kick(); // a destination held back by a cap may go now
  }

  // First attempts born leased: the hand-over from acceptInbound (src/deliver/born.ts).
  const hand = createBornLeased({
    concurrency: config.webhookConcurrency,
    timeoutMs: config.webhookTimeoutMs,
    now: deps.now,
    mayStart,
    limitOf: (dest) => limits.limitOf(dest),
    hold: (dest) => slots.hold(dest),
    freeSlot,
    backlogged: (dest) => backlog.has(dest),
    inflightIds,
    launch,
    track: (attempt) => loop.track(attempt),
    leftToPasses,
  });

  function release(d: Delivery): void {
    freeSlot(d.dest);
    inflightIds.delete(d.id);
  }

  /** A picked row the claim did not take: no longer due as read. Its destination's rows are read again. */
  function lost(d: Delivery): void {
    ahead.delete(d.dest);
    owed = true;
    release(d);
  }

  function launch(d: Delivery, attemptId: number, full: boolean): Promise<void> {
    let slotHeld = true;
    const endRequest = () => {
      if (slotHeld) freeSlot(d.dest);
      slotHeld = false;
    };
    return attempt(d, attemptId, full, endRequest).finally(() => {
      endRequest();
      inflightIds.delete(d.id);
    });
  }


  const loop = createQueueLoop({
    name: 'delivery',
    log,
    pass: () => {
      owed = false; // this pass reads what was left; anything left from now on sets it again
      return pass().catch((err: unknown) => {
        owed = true;
        throw err;
      });
    },
    async recover() {
      const n = await repos.deliveries.recoverInterrupted(deps.now(), INTERRUPTED);
      if (n > 0) log.warn('re-queued webhook attempts interrupted by a stop', { count: n });
    },
    stopWaitMs: config.webhookTimeoutMs + 1000,
  });
  // Running, the worker takes first attempts born leased from acceptInbound (src/deliver/born.ts).
  return {
    ...loop,
    start() {
      loop.start();
      setBornLeased(repos, hand.born);
    },
    stop() {
      setBornLeased(repos, undefined, hand.born);
      return loop.stop();
    },
  };
}


/**
 * POST /api/deliveries/:id/retry: queues a new attempt now, whatever the status (a failed or
 * delivered one gets one more attempt). Null when the delivery is not this user's. Call the
 * worker's kick() after it; otherwise its poll picks it up within a second. If an attempt is
 * in flight at that moment, that attempt's result decides.
 */
export function retryNow(deps: Deps, userId: string, deliveryId: string): Promise<Delivery | null> {
  return deps.repos.deliveries.requeue(userId, deliveryId, deps.now());
}
