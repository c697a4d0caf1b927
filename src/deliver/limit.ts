import { performance } from 'node:perf_hooks';

/**
 * The adaptive concurrency limit of each webhook destination (DESIGN §6 "per-destination
 * concurrency cap", here adaptive under WEBHOOK_CONCURRENCY_PER_DESTINATION as its ceiling).
 * AIMD, as TCP congestion control and Netflix's concurrency-limits do it:
 * - a destination starts at START_LIMIT (or the ceiling, if lower);
 * - additive increase: +1 per `limit` fast 2xx answers to requests sent while the destination had
 *   more due than its limit let start (an app with nothing queued for it proves nothing);
 * - multiplicative decrease: a 429, a 5xx, a timeout or a connection error halves the limit, once
 *   per round trip: only an answer to a request sent after the last cut cuts again, so a burst
 *   that fails together counts once;
 * - latency: "fast" is at most 2 × the destination's windowed minimum + GROW_SLACK_MS; beyond
 *   3 × that minimum + QUEUEING_SLACK_MS the app is queueing our requests: one step down (×0.9,
 *   at least 1), also once per round trip.
 * Per node and in memory: N nodes post up to N × their limits to one host.
 */
export const START_LIMIT = 8;
export const GROW_SLACK_MS = 10;
export const QUEUEING_SLACK_MS = 50;
/** The baseline is the minimum over the last one to two windows, so it follows a lasting change. */
export const BASELINE_WINDOW_MS = 30_000;
/** A destination unused this long starts over at START_LIMIT; at most MAX_TRACKED are kept. */
export const IDLE_FORGET_MS = 30 * 60_000;
export const MAX_TRACKED = 10_000;

interface State {
  limit: number;
  /** Fast answers since the last increase. */
  grown: number;
  minNow: number;
  minPrev: number;
  windowAt: number;
  /** When the limit was last cut (clock time): answers to requests sent before it do not cut again. */
  cutAt: number;
  usedAt: number;
}

/** One attempt's outcome, as the limit sees it. */
export interface Observation {
  /** Clock time the request was sent (see `clock`). */
  sentAt: number;
  /** Whether the destination had more due than its limit let start when this request was sent. */
  full: boolean;
  statusCode: number | null;
  latencyMs: number;
}

export function createAdaptiveLimits(ceiling: number, clock: () => number = () => performance.now()) {
  const start = Math.min(START_LIMIT, ceiling);
  const states = new Map<string, State>();

  const sweep = (now: number) => {
    for (const [dest, s] of states) if (now - s.usedAt > IDLE_FORGET_MS) states.delete(dest);
  };
  const stateOf = (dest: string, now: number): State => {
    let s = states.get(dest);
    if (!s) {
      if (states.size >= MAX_TRACKED) sweep(now);
      if (states.size >= MAX_TRACKED) states.delete(states.keys().next().value!);
      s = { limit: start, grown: 0, minNow: Infinity, minPrev: Infinity, windowAt: now, cutAt: -Infinity, usedAt: now };
      states.set(dest, s);
    }
    s.usedAt = now;
    return s;
  };
  const cut = (s: State, to: number, now: number) => {
    s.limit = Math.max(1, to);
    s.grown = 0;
    s.cutAt = now;
  };

  let sweptAt = clock();
  return {
    ceiling,
    /** Requests this destination may have in flight now. */
    limitOf(dest: string): number {
      return states.get(dest)?.limit ?? start;
    },
    observe(dest: string, o: Observation): void {
      const now = clock();
      if (now - sweptAt > IDLE_FORGET_MS) {
        sweptAt = now;
        sweep(now);
      }
      const s = stateOf(dest, now);
      const sameRound = o.sentAt < s.cutAt;
      const code = o.statusCode;
      if (code === null || code === 429 || code >= 500) {
        if (!sameRound) cut(s, Math.floor(s.limit / 2), now);
        return;
      }
      // A 3xx or another 4xx: the app answered and is not overloaded, but it proves nothing either.
      if (code < 200 || code >= 300) return;
      if (now - s.windowAt >= BASELINE_WINDOW_MS) {
        s.minPrev = s.minNow;
        s.minNow = Infinity;
        s.windowAt = now;
      }
      s.minNow = Math.min(s.minNow, o.latencyMs);
      const base = Math.min(s.minNow, s.minPrev);
      if (o.latencyMs > 3 * base + QUEUEING_SLACK_MS) {
        if (!sameRound && s.limit > 1) cut(s, Math.floor(s.limit * 0.9), now);
        return;
      }
      if (!o.full || o.latencyMs > 2 * base + GROW_SLACK_MS || s.limit >= ceiling) return;
      if (++s.grown >= s.limit) {
        s.limit++;
        s.grown = 0;
      }
    },
    /** Destinations tracked and their limits, for metrics. */
    limits(): number[] {
      return [...states.values()].map((s) => s.limit);
    },
  };
}

export type AdaptiveLimits = ReturnType<typeof createAdaptiveLimits>;
