/**
 * Mailhook against an earlier checkout only (BENCH_BEFORE), interleaved BENCH_PAIRS (2) times: the
 * quick loop for ingest work, without the six baselines of ingest.ts. Same load and counting.
 */
import { ingestMailhook } from './ingest.js';
import { beforeMain } from './lib/mailhook.js';
import { envInt, fmt, guarded } from './lib/report.js';

async function pairs(): Promise<void> {
  const before = beforeMain();
  for (let i = 0; i < envInt('BENCH_PAIRS', 2); i++) {
    if (before) {
      const o = await ingestMailhook(before.main);
      console.log(`${before.label}: ${fmt(o.rate)} msg/s, ${fmt(o.cpuMsPerMsg, 2)} CPU ms/msg (${o.note})`);
    }
    const m = await ingestMailhook();
    console.log(`current: ${fmt(m.rate)} msg/s, ${fmt(m.cpuMsPerMsg, 2)} CPU ms/msg (${m.note})`);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('ingest-pair', pairs);
