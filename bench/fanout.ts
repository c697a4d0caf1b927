/**
 * Scenario 6, fan-out delivery: BENCH_FANOUT (10,000) pending deliveries (1 message : 10
 * deliveries, one destination) seeded straight into the database, then Mailhook's delivery
 * worker sends them to a local receiver that answers at once, and one that answers after
 * 200 ms. Baseline: a bare keep-alive HTTP client, in its own process, at the concurrency
 * Mailhook may reach: the ceiling of the adaptive per-destination limit (src/deliver/limit.ts),
 * which starts at 8 and grows by one per round trip while the receiver keeps up. Runs against the
 * slow receiver stop after BENCH_FANOUT_SLOW_SECONDS (15; 30 for the ceiling of 64, whose climb
 * is longer) and report the rate over the whole run and from the moment the ceiling was reached.
 */
import { fileURLToPath } from 'node:url';
import { seedRoutes, startMailhook } from './lib/mailhook.js';
import { startNode, sleep } from './lib/proc.js';
import { startReceiver, type Receiver } from './lib/receiver.js';
import { envInt, fmt, guarded, ratio, report, type Row } from './lib/report.js';
import { seedPending } from './lib/seed.js';

const POSTER = fileURLToPath(new URL('./lib/bare-poster.ts', import.meta.url));
const N = envInt('BENCH_FANOUT', 10_000);
const PER_MESSAGE = 10;
const SLOW_SECONDS = envInt('BENCH_FANOUT_SLOW_SECONDS', 15);
const START = 8; // START_LIMIT (src/deliver/limit.ts)
const DEFAULT_CAP = 32; // WEBHOOK_CONCURRENCY_PER_DESTINATION's default, the ceiling (src/config.ts)
const TUNED_CAP = 64;

/** Deliveries per second between the first and the last arrival (startup excluded). */
function rateOf(r: Receiver): number {
  const times = [...r.firstAt.values()];
  if (times.length < 2) return 0;
  return ((times.length - 1) / (Math.max(...times) - Math.min(...times))) * 1000;
}

async function waitDone(r: Receiver, n: number, seconds: number): Promise<void> {
  // Bounded from the first arrival, so start-up time does not eat the window.
  const t0 = Date.now();
  while (r.firstAt.size === 0 && Date.now() - t0 < 30_000) await sleep(20);
  await r.waitFor(n, seconds * 1000);
}

/** Deliveries per second from `from` (performance.now()) to the last arrival. */
function rateFrom(r: Receiver, from: number): number {
  const times = [...r.firstAt.values()].filter((t) => t >= from);
  if (times.length < 2) return 0;
  return ((times.length - 1) / (Math.max(...times) - from)) * 1000;
}

interface Run {
  rate: number;
  delivered: number;
  cpuMsPer: number;
  /** Seconds from the first arrival until `cap` requests were open at once; null if never. */
  rampSec: number | null;
  /** The rate once the ceiling was reached. */
  steadyRate: number;
  peak: number;
}

async function mailhook(delayMs: number, cap: number, seconds: number): Promise<Run> {
  const receiver = await startReceiver({ key: 'webhook-id', delayMs });
  const urls = Array.from({ length: PER_MESSAGE }, (_, i) => `${receiver.url}?route=${i}`);
  const env: Record<string, string> = cap === DEFAULT_CAP ? {} : { WEBHOOK_CONCURRENCY_PER_DESTINATION: String(cap), WEBHOOK_CONCURRENCY: String(cap * 4) };
  const mh = await startMailhook(`fanout-${delayMs}ms-${cap}`, async (deps) => {
    const { user, domain } = await seedRoutes(deps, 'bench.test', []);
    seedPending(deps, { userId: user.id, domainId: domain.id }, Math.ceil(N / PER_MESSAGE), urls);
  }, env);
  try {
    const cpu0 = mh.stats().cpuSec;
    await waitDone(receiver, N, seconds);
    const delivered = receiver.firstAt.size;
    const peak = receiver.peak();
    const first = Math.min(...receiver.firstAt.values());
    const reached = peak.open >= cap;
    return {
      rate: rateOf(receiver),
      delivered,
      cpuMsPer: ((mh.stats().cpuSec - cpu0) * 1000) / delivered,
      rampSec: reached ? Math.max(0, peak.at - first) / 1000 : null,
      steadyRate: reached ? rateFrom(receiver, peak.at) : 0,
      peak: peak.open,
    };
  } finally {
    await mh.stop();
    await receiver.close();
  }
}

async function bare(delayMs: number, concurrency: number, seconds: number): Promise<number> {
  const receiver = await startReceiver({ key: 'webhook-id', delayMs });
  const child = startNode(POSTER, [receiver.url, String(N), String(concurrency), '5200'], {});
  try {
    await waitDone(receiver, N, seconds);
    return rateOf(receiver);
  } finally {
    await child.stop('SIGKILL');
    await receiver.close();
  }
}

export async function fanout(): Promise<void> {
  const fastSeconds = 120;
  const mFast = await mailhook(0, DEFAULT_CAP, fastSeconds);
  const bFast = await bare(0, DEFAULT_CAP, fastSeconds);
  const mSlow = await mailhook(200, DEFAULT_CAP, SLOW_SECONDS);
  const bSlow = await bare(200, DEFAULT_CAP, SLOW_SECONDS);
  const mTuned = await mailhook(200, TUNED_CAP, 2 * SLOW_SECONDS);
  const bTuned = await bare(200, TUNED_CAP, 2 * SLOW_SECONDS);
  const ramp = (r: Run) => (r.rampSec === null ? `not reached (${r.peak})` : fmt(r.rampSec, 1));
  // +1 per `limit` answers while full, i.e. +1 per round trip of 0.2 s.
  const rampTarget = (cap: number) => (cap - START) * 0.2 * 1.5;
  const met = (ok: boolean) => (ok ? 'met' : 'NOT MET') as Row['met'];
  const rows: Row[] = [
    {
      scenario: `fan-out ${N} deliveries, instant receiver (deliveries/s), default limit (${START} → ${DEFAULT_CAP}) vs bare client, ${DEFAULT_CAP} concurrent`,
      mailhook: fmt(mFast.rate),
      baseline: fmt(bFast),
      ratio: ratio(mFast.rate, bFast),
      target: 'printed',
      met: '—',
    },
    {
      scenario: `fan-out, 200 ms receiver, default limit (${START} → ${DEFAULT_CAP}), whole ${SLOW_SECONDS} s run (climb included) vs bare client, ${DEFAULT_CAP} concurrent`,
      mailhook: fmt(mSlow.rate),
      baseline: fmt(bSlow),
      ratio: ratio(mSlow.rate, bSlow),
      target: 'printed',
      met: '—',
    },
    {
      scenario: `fan-out, 200 ms receiver: seconds until ${DEFAULT_CAP} requests at once (the limit at its ceiling)`,
      mailhook: ramp(mSlow),
      baseline: '—',
      ratio: '—',
      target: `≤ ${fmt(rampTarget(DEFAULT_CAP), 1)} s (${DEFAULT_CAP - START} round trips of 0.2 s, +50 %)`,
      met: met(mSlow.rampSec !== null && mSlow.rampSec <= rampTarget(DEFAULT_CAP)),
    },
    {
      scenario: `fan-out, 200 ms receiver, default limit once at ${DEFAULT_CAP} vs bare client, ${DEFAULT_CAP} concurrent`,
      mailhook: fmt(mSlow.steadyRate),
      baseline: fmt(bSlow),
      ratio: ratio(mSlow.steadyRate, bSlow),
      target: '≥ 0.80×',
      met: met(mSlow.steadyRate >= 0.8 * bSlow),
    },
    {
      scenario: `fan-out, 200 ms receiver vs instant receiver (default caps)`,
      mailhook: fmt(mSlow.rate),
      baseline: fmt(mFast.rate),
      ratio: ratio(mSlow.rate, mFast.rate),
      target: `≤ ${DEFAULT_CAP}/0.2 s = ${DEFAULT_CAP * 5}/s by the ceiling`,
      met: '—',
    },
    {
      scenario: `fan-out, 200 ms receiver, WEBHOOK_CONCURRENCY_PER_DESTINATION=${TUNED_CAP}, once at ${TUNED_CAP} vs bare client, ${TUNED_CAP} concurrent`,
      mailhook: fmt(mTuned.steadyRate),
      baseline: fmt(bTuned),
      ratio: ratio(mTuned.steadyRate, bTuned),
      target: '≥ 0.80×',
      met: met(mTuned.steadyRate >= 0.8 * bTuned),
    },
  ];
  report('Fan-out delivery', rows, [
    `Delivered: instant ${mFast.delivered}/${N} (Mailhook CPU ${fmt(mFast.cpuMsPer, 2)} ms/delivery, most at once ${mFast.peak}); 200 ms runs bounded to ${SLOW_SECONDS} s: ${mSlow.delivered}, and to ${2 * SLOW_SECONDS} s: ${mTuned.delivered} (ceiling ${TUNED_CAP}, WEBHOOK_CONCURRENCY=${TUNED_CAP * 4}: ${ramp(mTuned)} s to reach it, ${fmt(mTuned.rate)}/s over the whole run).`,
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('fan-out', fanout);
