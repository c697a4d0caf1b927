/**
 * Mailhook against an earlier checkout only (BENCH_BEFORE), interleaved BENCH_PAIRS (2) times, in alternating order: the
 * quick loop for ingest work, without the six baselines of ingest.ts. Same load and counting.
 */
import { ingestMailhook } from './ingest.js';
import { beforeMain } from './lib/mailhook.js';
import { envInt, fmt, guarded } from './lib/report.js';

async function pairs(): Promise<void> {
  const before = beforeMain();
  const runBefore = async () => {
    if (!before) return;
    const o = await ingestMailhook(before);
    console.log(`${before.label}: ${fmt(o.rate)} msg/s (250s ${fmt(o.acceptRate)}/s), ${fmt(o.cpuMsPerMsg, 2)} CPU ms/msg (${o.note})`);
  };
  const runCurrent = async () => {
    const m = await ingestMailhook();
    console.log(`current: ${fmt(m.rate)} msg/s (250s ${fmt(m.acceptRate)}/s), ${fmt(m.cpuMsPerMsg, 2)} CPU ms/msg (${m.note})`);
  };
  // The order alternates: whichever of two runs goes first has been faster by up to 200 msg/s on
  // this machine (bench/README.md, "Rows claimed ahead"), so a fixed order favours one side.
  for (let i = 0; i < envInt('BENCH_PAIRS', 2); i++) {
    if (i % 2 === 0) {
      await runBefore();
      await runCurrent();
    } else {
      await runCurrent();
      await runBefore();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('ingest-pair', pairs);
