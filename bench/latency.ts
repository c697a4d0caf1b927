/**
 * Scenario 2, end-to-end latency: a steady BENCH_RATE (200) messages/s of 4 KB for
 * BENCH_LATENCY_SECONDS (20) over BENCH_LATENCY_CONNECTIONS (20) reused connections, after a
 * 2-second warm-up. Latency = the client's 250 → the webhook's arrival at the receiver (both
 * clocks are this process's); and end to end, the client's MAIL FROM → the webhook (what a sender
 * and the app see: since first attempts are born leased the webhook often arrives before the
 * client has read its 250, and the first figure reads 0). Baseline: smtp-server + mailparser that answers 250 and then
 * POSTs straight to the receiver (no storage, no queue) — the floor for "after the 250".
 */
import { fileURLToPath } from 'node:url';
import { benchDir, benchEnv, seedRoutes, startMailhook } from './lib/mailhook.js';
import { plainMessage } from './lib/messages.js';
import { profileFlags, startListening, startNode, type Child } from './lib/proc.js';
import { startReceiver, type Receiver } from './lib/receiver.js';
import { envInt, fmt, guarded, quantile, ratio, report, type Row } from './lib/report.js';
import { runLoad, type LoadResult } from './lib/smtp-client.js';
import { rmSync } from 'node:fs';

const BASELINE = fileURLToPath(new URL('./lib/baseline-server.ts', import.meta.url));
const RATE = envInt('BENCH_RATE', 200);
const SECONDS = envInt('BENCH_LATENCY_SECONDS', 20);
const CONNS = envInt('BENCH_LATENCY_CONNECTIONS', 20);
const WARMUP_SECONDS = 2;
const rcpt = (seq: number) => `in${seq % 50}@bench.test`;

export interface Latencies {
  /** 250 → webhook, ms, one per message whose webhook arrived. */
  values: number[];
  /** Webhooks that arrived before the client had read its 250 (counted as 0 ms). */
  early: number;
  missing: number;
  transactionMs: number[];
  /** MAIL FROM → webhook, ms, one per message whose webhook arrived. */
  endToEnd: number[];
}

/** Paced load on `port`; pairs each 250 with its webhook at `receiver`. */
export async function measureLatency(port: number, receiver: Receiver, rate: number, seconds: number, conns: number): Promise<Latencies> {
  const load = (from: number, count: number): Promise<LoadResult> =>
    runLoad({ port, connections: conns, messages: count, ratePerSec: rate, message: (s) => plainMessage(from + s, rcpt(s)), rcptTo: rcpt, timeoutMs: (seconds + 60) * 1000 });
  const warm = await load(1_000_000, rate * WARMUP_SECONDS);
  await receiver.waitFor(warm.accepted, 30_000);
  const before = receiver.firstAt.size;
  const r = await load(0, rate * seconds);
  await receiver.waitFor(before + r.accepted, 30_000);
  const out: Latencies = { values: [], early: 0, missing: 0, transactionMs: r.transactionMs, endToEnd: [] };
  for (const [seq, at] of r.acceptedAt) {
    const hook = receiver.firstAt.get(seq);
    if (hook === undefined) {
      out.missing++;
      continue;
    }
    if (hook < at) out.early++;
    out.values.push(Math.max(0, hook - at));
    out.endToEnd.push(hook - r.sentAt.get(seq)!);
  }
  return out;
}

export function distribution(l: Latencies): string {
  const q = (p: number) => fmt(quantile(l.values, p), 1);
  return `n=${l.values.length} p50=${q(0.5)} p90=${q(0.9)} p99=${q(0.99)} p99.9=${q(0.999)} max=${fmt(Math.max(...l.values), 1)} ms` + (l.early ? `, ${l.early} webhooks before the 250` : '') + (l.missing ? `, ${l.missing} missing` : '');
}

/** Counts per latency bucket, as a one-line histogram. */
export function histogram(values: number[]): string {
  const edges = [1, 2, 5, 10, 20, 50, 100, 200, 500, Infinity];
  const counts = edges.map(() => 0);
  for (const v of values) counts[edges.findIndex((e) => v <= e)]!++;
  return edges.map((e, i) => `≤${e === Infinity ? '∞' : e}:${counts[i]}`).join(' ');
}

async function mailhook(): Promise<Latencies> {
  const receiver = await startReceiver();
  const mh = await startMailhook('latency', async (deps) => await seedRoutes(deps, 'bench.test', [receiver.url]));
  try {
    return await measureLatency(mh.smtpPort, receiver, RATE, SECONDS, CONNS);
  } finally {
    await mh.stop();
    await receiver.close();
  }
}

async function baseline(): Promise<Latencies> {
  const receiver = await startReceiver();
  const dir = benchDir('base-forward');
  let started: { child: Child; ports: number[] } | undefined;
  try {
    started = await startListening(1, ([p]) => startNode(BASELINE, ['forward', String(p), receiver.url], benchEnv({ DATA_DIR: dir }), profileFlags('baseline-forward')));
    return await measureLatency(started.ports[0]!, receiver, RATE, SECONDS, CONNS);
  } finally {
    await started?.child.stop();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function latency(): Promise<void> {
  const b = await baseline();
  const m = await mailhook();
  const met = (ok: boolean) => (ok ? 'met' : 'NOT MET') as Row['met'];
  const p = (l: Latencies, q: number) => quantile(l.values, q);
  const rows: Row[] = [
    {
      scenario: `latency 250 → webhook p50 (ms) at ${RATE} msg/s vs smtp-server+mailparser+POST after 250`,
      mailhook: fmt(p(m, 0.5), 1),
      baseline: fmt(p(b, 0.5), 1),
      ratio: ratio(p(m, 0.5), p(b, 0.5)),
      target: '≤ 20 ms',
      met: met(p(m, 0.5) <= 20 && m.missing === 0),
    },
    {
      scenario: `latency 250 → webhook p99 (ms) at ${RATE} msg/s`,
      mailhook: fmt(p(m, 0.99), 1),
      baseline: fmt(p(b, 0.99), 1),
      ratio: ratio(p(m, 0.99), p(b, 0.99)),
      target: '≤ 100 ms',
      met: met(p(m, 0.99) <= 100 && m.missing === 0),
    },
    {
      scenario: 'latency: SMTP transaction MAIL → 250 p50 / p99 (ms) (durable store before the 250)',
      mailhook: `${fmt(quantile(m.transactionMs, 0.5), 1)} / ${fmt(quantile(m.transactionMs, 0.99), 1)}`,
      baseline: `${fmt(quantile(b.transactionMs, 0.5), 1)} / ${fmt(quantile(b.transactionMs, 0.99), 1)}`,
      ratio: ratio(quantile(m.transactionMs, 0.5), quantile(b.transactionMs, 0.5)),
      target: 'printed',
      met: '—',
    },
    {
      scenario: 'latency: MAIL → webhook p50 / p99 (ms), end to end (the sender starts, the app has it)',
      mailhook: `${fmt(quantile(m.endToEnd, 0.5), 1)} / ${fmt(quantile(m.endToEnd, 0.99), 1)}`,
      baseline: `${fmt(quantile(b.endToEnd, 0.5), 1)} / ${fmt(quantile(b.endToEnd, 0.99), 1)}`,
      ratio: ratio(quantile(m.endToEnd, 0.5), quantile(b.endToEnd, 0.5)),
      target: 'printed',
      met: '—',
    },
  ];
  report('End-to-end latency', rows, [
    `Mailhook 250 → webhook: ${distribution(m)}`,
    `  histogram (ms): ${histogram(m.values)}`,
    `Mailhook MAIL → webhook: histogram (ms): ${histogram(m.endToEnd)}`,
    `Baseline 250 → webhook: ${distribution(b)}`,
    `${SECONDS} s at ${RATE} msg/s over ${CONNS} connections after a ${WARMUP_SECONDS} s warm-up.`,
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('latency', latency);
