/**
 * Preload for allocation profiles: V8's sampling heap profiler, keeping the samples of objects
 * the GC has already collected (`--heap-prof` drops them, so it shows what is live, not what
 * churns). Load it into a bench server with
 *   BENCH_MAILHOOK_NODE_FLAGS="--import $PWD/bench/lib/alloc-sampling.mjs" BENCH_ALLOC_DIR=/tmp/alloc …
 * The profile is written to $BENCH_ALLOC_DIR/<pid>.heapprofile on SIGTERM (the bench's stop),
 * and the process then exits without its graceful shutdown. Summarise with alloc-summary.ts.
 */
import inspector from 'node:inspector';
import { mkdirSync, writeFileSync } from 'node:fs';

const dir = process.env.BENCH_ALLOC_DIR ?? '/tmp';
const session = new inspector.Session();
session.connect();
session.post('HeapProfiler.enable');
session.post('HeapProfiler.startSampling', {
  samplingInterval: 8192,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
process.prependListener('SIGTERM', () => {
  session.post('HeapProfiler.stopSampling', (err, result) => {
    if (!err) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/${process.pid}.heapprofile`, JSON.stringify(result.profile));
    }
    process.exit(0);
  });
});
