/**
 * A sliding-window counter per key, in memory: fine for one process (DESIGN: one process), lost
 * on restart, which only forgives. Each key keeps at most `limit` timestamps, and the number of
 * keys is capped, so an attacker cycling keys cannot grow it without bound.
 */
export class SlidingWindow {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly opts: { limit: number; windowMs: number; now: () => number; maxKeys?: number },
  ) {}

  private live(key: string): number[] {
    const list = this.hits.get(key);
    if (!list) return [];
    const cutoff = this.opts.now() - this.opts.windowMs;
    while (list.length > 0 && list[0]! <= cutoff) list.shift();
    if (list.length === 0) this.hits.delete(key);
    return list;
  }

  /** Seconds until `key` may act again, or 0 when it is under its limit now. */
  retryAfter(key: string): number {
    const list = this.live(key);
    if (list.length < this.opts.limit) return 0;
    const freeAt = list[list.length - this.opts.limit]! + this.opts.windowMs;
    return Math.max(1, Math.ceil((freeAt - this.opts.now()) / 1000));
  }

  /** Counts one event for `key`. */
  record(key: string): void {
    let list = this.live(key);
    if (list.length === 0) {
      if (this.hits.size >= (this.opts.maxKeys ?? 100_000)) this.evictOne();
      list = [];
      this.hits.set(key, list);
    }
    list.push(this.opts.now());
    if (list.length > this.opts.limit) list.shift();
  }

  /** Counts the event if allowed; returns the seconds to wait (0 = allowed). */
  take(key: string): number {
    const wait = this.retryAfter(key);
    if (wait === 0) this.record(key);
    return wait;
  }

  /** Takes back the latest event of `key` (a login that turned out to be right). */
  unrecord(key: string): void {
    this.hits.get(key)?.pop();
  }

  reset(key: string): void {
    this.hits.delete(key);
  }

  // Map iteration is insertion order: the oldest key goes first.
  private evictOne(): void {
    const first = this.hits.keys().next();
    if (!first.done) this.hits.delete(first.value);
  }
}
