import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';

/**
 * Watches `w`'s event loop from this thread, as src/parse/parse-pool.ts's watch does: its idle time
 * read every `everyMs`. `stop()` ends the watch and returns the longest stretch, in ms, in which
 * the idle time did not grow (the loop never waited on anything), the stretch still open included.
 */
export function watchLoopHold(w: Worker, everyMs: number): { stop(): number } {
  let idle = w.performance.eventLoopUtilization().idle;
  let since = performance.now();
  let longest = 0;
  const sample = setInterval(() => {
    const now = w.performance.eventLoopUtilization().idle;
    if (now > idle) {
      longest = Math.max(longest, performance.now() - since);
      since = performance.now();
      idle = now;
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(sample);
      return Math.max(longest, performance.now() - since);
    },
  };
}
