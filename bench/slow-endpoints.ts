/**
 * Scenario 5, slow endpoints.
 * A. A healthy receiver's 250 → webhook latency at BENCH_SLOW_RATE (100) msg/s for
 *    BENCH_SLOW_SECONDS (15), alone and then with every message also routed to a destination
 *    that never answers (each of its attempts ends at the 10 s WEBHOOK_TIMEOUT_MS default).
 * B. New mail's acceptance (250 replies/s, BENCH_SLOW_MESSAGES = 3,000 messages over 100
 *    connections) with an empty queue and with 10,000 pending deliveries due now to 10
 *    destinations that never answer. Runs go empty, backlog, backlog, empty and each figure is
 *    the mean of its two: a machine getting busier or quieter during the runs (other processes)
 *    weighs on both sides alike.
 */
import { seedRoutes, startMailhook } from './lib/mailhook.js';
import { plainMessage } from './lib/messages.js';
import { startReceiver, type Receiver } from './lib/receiver.js';
import { envInt, fmt, guarded, progress, quantile, ratio, report, type Row } from './lib/report.js';
import { seedPending } from './lib/seed.js';
import { runLoad } from './lib/smtp-client.js';
import { distribution, measureLatency, type Latencies } from './latency.js';

const RATE = envInt('BENCH_SLOW_RATE', 100);
const SECONDS = envInt('BENCH_SLOW_SECONDS', 15);
const MESSAGES = envInt('BENCH_SLOW_MESSAGES', 3000);
const BACKLOG = envInt('BENCH_SLOW_BACKLOG', 10_000);
const DEAD_DESTINATIONS = 10;
const rcpt = (seq: number) => `in${seq % 50}@bench.test`;

async function healthyLatency(withDead: boolean): Promise<Latencies> {
  const healthy = await startReceiver();
  const dead = await startReceiver({ hang: true });
  const urls = withDead ? [healthy.url, dead.url] : [healthy.url];
  const mh = await startMailhook(withDead ? 'slow-with-dead' : 'slow-solo', async (deps) => await seedRoutes(deps, 'bench.test', urls));
  try {
    return await measureLatency(mh.smtpPort, healthy, RATE, SECONDS, 20);
  } finally {
    await mh.stop();
    await healthy.close();
    await dead.close();
  }
}

async function acceptance(backlog: boolean): Promise<{ acceptRate: number; hookRate: number; deadOpen: number }> {
  const healthy = await startReceiver();
  const dead: Receiver[] = [];
  if (backlog) for (let i = 0; i < DEAD_DESTINATIONS; i++) dead.push(await startReceiver({ hang: true }));
  const mh = await startMailhook(backlog ? 'backlog' : 'no-backlog', async (deps) => {
    await seedRoutes(deps, 'bench.test', [healthy.url]);
    if (!backlog) return;
    const other = await seedRoutes(deps, 'dead.bench.test', []);
    const perDest = Math.ceil(BACKLOG / DEAD_DESTINATIONS);
    for (const d of dead) seedPending(deps, { userId: other.user.id, domainId: other.domain.id }, perDest, [d.url], 5_000_000);
  });
  try {
    // The backlog is due at start: let the worker fill its pool with hanging attempts first.
    await new Promise((r) => setTimeout(r, 1000));
    const deadOpen = dead.reduce((n, d) => n + d.open(), 0);
    const r = await runLoad({ port: mh.smtpPort, connections: 100, messages: MESSAGES, message: (s) => plainMessage(s, rcpt(s)), rcptTo: rcpt, timeoutMs: 120_000 });
    await healthy.waitFor(r.accepted, 60_000);
    const last = Math.max(...healthy.firstAt.values());
    return {
      acceptRate: (r.accepted / (r.endedAt - r.startedAt)) * 1000,
      hookRate: (healthy.firstAt.size / (last - r.startedAt)) * 1000,
      deadOpen,
    };
  } finally {
    await mh.stop();
    await healthy.close();
    for (const d of dead) await d.close();
  }
}

export async function slowEndpoints(): Promise<void> {
  progress('slow endpoints: healthy destination alone');
  const solo = await healthyLatency(false);
  progress('slow endpoints: healthy destination next to a dead one');
  const mixed = await healthyLatency(true);
  const runs: { backlog: boolean; r: Awaited<ReturnType<typeof acceptance>> }[] = [];
  for (const backlog of [false, true, true, false]) {
    progress(`slow endpoints: acceptance ${backlog ? `with ${BACKLOG} dead deliveries pending` : 'with an empty queue'}`);
    runs.push({ backlog, r: await acceptance(backlog) });
  }
  const mean = (backlog: boolean, k: 'acceptRate' | 'hookRate') => {
    const xs = runs.filter((x) => x.backlog === backlog).map((x) => x.r[k]);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  const met = (ok: boolean) => (ok ? 'met' : 'NOT MET') as Row['met'];
  const p = (l: Latencies, q: number) => quantile(l.values, q);
  const rows: Row[] = [
    {
      scenario: `slow endpoints: healthy webhook p50 (ms) with a never-answering destination vs alone, ${RATE} msg/s`,
      mailhook: fmt(p(mixed, 0.5), 1),
      baseline: fmt(p(solo, 0.5), 1),
      ratio: ratio(p(mixed, 0.5), p(solo, 0.5)),
      target: '≤ 1.50×',
      met: met(p(mixed, 0.5) <= 1.5 * p(solo, 0.5) && mixed.missing === 0),
    },
    {
      scenario: 'slow endpoints: healthy webhook p99 (ms) with a never-answering destination vs alone',
      mailhook: fmt(p(mixed, 0.99), 1),
      baseline: fmt(p(solo, 0.99), 1),
      ratio: ratio(p(mixed, 0.99), p(solo, 0.99)),
      target: '≤ 1.50×',
      met: met(p(mixed, 0.99) <= 1.5 * p(solo, 0.99) && mixed.missing === 0),
    },
    {
      scenario: `slow endpoints: new mail accepted/s with ${BACKLOG} dead deliveries pending vs empty queue`,
      mailhook: fmt(mean(true, 'acceptRate')),
      baseline: fmt(mean(false, 'acceptRate')),
      ratio: ratio(mean(true, 'acceptRate'), mean(false, 'acceptRate')),
      target: '≥ 0.90×',
      met: met(mean(true, 'acceptRate') >= 0.9 * mean(false, 'acceptRate')),
    },
    {
      scenario: "slow endpoints: new mail's webhooks/s with the dead backlog vs empty queue",
      mailhook: fmt(mean(true, 'hookRate')),
      baseline: fmt(mean(false, 'hookRate')),
      ratio: ratio(mean(true, 'hookRate'), mean(false, 'hookRate')),
      target: 'printed',
      met: '—',
    },
  ];
  report('Slow endpoints', rows, [
    `Healthy alone: ${distribution(solo)}`,
    `Healthy next to a dead destination: ${distribution(mixed)}`,
    `Acceptance runs (msg/s): ${runs.map((x) => `${x.backlog ? 'backlog' : 'empty'} ${fmt(x.r.acceptRate)}${x.backlog ? ` (${x.r.deadOpen} requests hanging at the dead destinations)` : ''}`).join(', ')}; the mean of each counts.`,
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('slow endpoints', slowEndpoints);
