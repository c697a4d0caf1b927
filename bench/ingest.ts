/**
 * Scenario 1, ingest throughput: BENCH_MESSAGES (10,000) messages of BENCH_SIZE (4,096) bytes
 * over BENCH_CONNECTIONS (100) SMTP connections, each reused for many messages. Mailhook runs
 * the whole pipeline and only messages whose webhook reached the receiver count. Baselines, same
 * client, same smtp-server options: (a) bare smtp-server, (b) smtp-server + mailparser, (c) (b) +
 * one fsync'd file per message, (d) (b) + a webhook POST after the 250, (e) (c) + that POST (the
 * pipeline's shape with no database, queue or retries), (f) (b) + the raw message INSERTed into
 * SQLite with a group commit before the 250, then that POST (the least work that keeps DESIGN §1
 * invariant 1 with small blobs in the database); an earlier Mailhook (BENCH_BEFORE, e.g. commit
 * 66637c6) when given; Postfix smtp-sink when installed. Each server gets the same warm-up first (BENCH_WARMUP messages).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { beforeMain, benchDir, benchEnv, benchTmp, ensureDist, seedRoutes, startMailhook, type Before } from './lib/mailhook.js';
import { plainMessage } from './lib/messages.js';
import { procStats, profileFlags, startChild, startListening, startNode, type Child } from './lib/proc.js';
import { startReceiver, type Receiver } from './lib/receiver.js';
import { envInt, fmt, guarded, ratio, report, type Row } from './lib/report.js';
import { runLoad } from './lib/smtp-client.js';

const BASELINE = fileURLToPath(new URL('./lib/baseline-server.ts', import.meta.url));
const N = envInt('BENCH_MESSAGES', 10_000);
const CONNS = envInt('BENCH_CONNECTIONS', 100);
const SIZE = envInt('BENCH_SIZE', 4096);
const WARMUP = envInt('BENCH_WARMUP', Math.min(2000, Math.ceil(N / 5)));
/** Rounds of Mailhook and of the earlier Mailhook (BENCH_BEFORE) when one is given. */
const ROUNDS = envInt('BENCH_INGEST_ROUNDS', 3);

/** The round with the median rate (the upper one of an even count). */
function medianRound<T extends Measured>(rounds: T[]): T {
  return [...rounds].sort((x, y) => x.rate - y.rate)[Math.floor(rounds.length / 2)]!;
}
const DOMAIN = 'bench.test';
const rcpt = (seq: number) => `in${seq % 50}@${DOMAIN}`;

export const SMTP_SINK = '/usr/sbin/smtp-sink';
export const SMTP_SOURCE = '/usr/sbin/smtp-source';

interface Measured {
  rate: number;
  accepted: number;
  cpuMsPerMsg: number;
  note?: string;
}

/** Warm-up then the measured run against an SMTP server that answers 250 once done with a message. */
async function measureSmtp(port: number, pid: number | null): Promise<Measured> {
  const load = (from: number, count: number) =>
    runLoad({ port, connections: CONNS, messages: count, message: (s) => plainMessage(from + s, rcpt(s), SIZE), rcptTo: rcpt, timeoutMs: 300_000 });
  if (WARMUP) await load(1_000_000, WARMUP);
  const cpu0 = pid ? procStats(pid).cpuSec : 0;
  const r = await load(0, N);
  const cpu = pid ? procStats(pid).cpuSec - cpu0 : NaN;
  if (r.errors.length) console.error('  client errors:', r.errors.slice(0, 3));
  return { rate: (r.accepted / (r.endedAt - r.startedAt)) * 1000, accepted: r.accepted, cpuMsPerMsg: (cpu * 1000) / r.accepted };
}

async function baseline(mode: 'discard' | 'parse' | 'store'): Promise<Measured> {
  const dir = benchDir(`base-${mode}`);
  let started: { child: Child; ports: number[] } | undefined;
  try {
    started = await startListening(1, ([p]) => startNode(BASELINE, [mode, String(p)], benchEnv({ DATA_DIR: dir }), profileFlags(`baseline-${mode}`)));
    return await measureSmtp(started.ports[0]!, started.child.pid);
  } finally {
    await started?.child.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Counts webhooks that reached the receiver: rate = messages / (last webhook − first MAIL). */
async function measureDelivered(
  smtpPort: number,
  receiver: Receiver,
  cpuSec: () => number,
): Promise<Measured & { acceptRate: number }> {
  const load = (from: number, count: number) =>
    runLoad({ port: smtpPort, connections: CONNS, messages: count, message: (s) => plainMessage(from + s, rcpt(s), SIZE), rcptTo: rcpt, timeoutMs: 300_000 });
  if (WARMUP) {
    const w = await load(1_000_000, WARMUP);
    await receiver.waitFor(w.accepted, 120_000);
  }
  const before = receiver.firstAt.size;
  const cpu0 = cpuSec();
  const r = await load(0, N);
  if (r.errors.length) console.error('  client errors:', r.errors.slice(0, 3), r.refused);
  // Only messages whose webhook arrived count; wait (bounded) for the queue to drain.
  await receiver.waitFor(before + r.accepted, 120_000);
  const cpu = cpuSec() - cpu0;
  let last = 0;
  let delivered = 0;
  for (const [seq, at] of receiver.firstAt) {
    if (typeof seq !== 'number' || seq >= 1_000_000) continue;
    delivered++;
    last = Math.max(last, at);
  }
  const rate = delivered ? (delivered / (last - r.startedAt)) * 1000 : 0;
  const acceptRate = (r.accepted / (r.endedAt - r.startedAt)) * 1000;
  return { rate, accepted: delivered, acceptRate, cpuMsPerMsg: (cpu * 1000) / delivered, note: `${r.accepted} got 250, ${delivered} webhooks arrived` };
}

/** (d) parse + POST after the 250, (e) parse + fsync'd file + POST, (f) parse + SQLite group commit + POST: no queue. */
async function webhookBaseline(mode: 'forward' | 'deliver' | 'sqlite'): Promise<Measured & { acceptRate: number }> {
  const receiver = await startReceiver();
  const dir = benchDir(`base-${mode}`);
  let started: { child: Child; ports: number[] } | undefined;
  try {
    started = await startListening(1, ([p]) => startNode(BASELINE, [mode, String(p), receiver.url], benchEnv({ DATA_DIR: dir }), profileFlags(`baseline-${mode}`)));
    const { child } = started;
    return await measureDelivered(started.ports[0]!, receiver, () => (child.pid ? procStats(child.pid).cpuSec : NaN));
  } finally {
    await started?.child.stop();
    await receiver.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Mailhook as production runs it: this checkout's dist/ (built first if stale), `before` as its
 * own Dockerfile ran it (66637c6: src/main.ts through tsx).
 */
export async function ingestMailhook(before?: Before): Promise<Measured & { acceptRate: number }> {
  if (!before) ensureDist();
  const receiver = await startReceiver();
  const opts = before ? { main: before.main, built: before.built } : { built: true };
  const mh = await startMailhook(before ? 'ingest-before' : 'ingest', async (deps) => await seedRoutes(deps, DOMAIN, [receiver.url]), {}, opts);
  try {
    return await measureDelivered(mh.smtpPort, receiver, () => mh.stats().cpuSec);
  } finally {
    await mh.stop();
    await receiver.close();
  }
}

async function smtpSink(): Promise<{ ourClient: number; smtpSource: number } | null> {
  if (!existsSync(SMTP_SINK)) return null;
  const start = () => startListening(1, ([p]) => startChild(SMTP_SINK, ['-u', 'postfix', '-4', `127.0.0.1:${p}`, '1024'], {}), { timeoutMs: 10_000 });
  let { child: sink, ports: [port] } = await start();
  let ourClient: number;
  try {
    ourClient = (await measureSmtp(port!, null)).rate;
  } finally {
    await sink.stop('SIGTERM', 2000);
  }
  if (!existsSync(SMTP_SOURCE)) return { ourClient, smtpSource: NaN };
  ({ child: sink, ports: [port] } = await start());
  try {
    const t = performance.now();
    const src = startChild(SMTP_SOURCE, ['-d', '-s', String(CONNS), '-m', String(N), '-l', String(SIZE), '-t', `in@${DOMAIN}`, `127.0.0.1:${port}`], {});
    await new Promise((r) => src.proc.once('exit', r));
    return { ourClient, smtpSource: (N / (performance.now() - t)) * 1000 };
  } finally {
    await sink.stop('SIGTERM', 2000);
  }
}

/** The file system the data folders live on (device, type, mount options), for the record. */
export function fsOf(path: string): string {
  try {
    return `${path}: ` + execFileSync('findmnt', ['-n', '-o', 'SOURCE,FSTYPE,OPTIONS', '-T', path], { encoding: 'utf8' }).trim();
  } catch {
    return path;
  }
}

export async function ingest(): Promise<void> {
  const a = await baseline('discard');
  const b = await baseline('parse');
  const c = await baseline('store');
  const d = await webhookBaseline('forward');
  const e = await webhookBaseline('deliver');
  const f = await webhookBaseline('sqlite');
  const before = beforeMain();
  // Against an earlier Mailhook, ROUNDS interleaved rounds in alternating order and the median
  // round of each side (as bench/ingest-pair.ts and bench/send.ts do): one round each, always in
  // the same order, read 1.85× in a run where the pairs an hour before read 1.95–2.30× (whichever
  // of two goes first has been faster by up to 200 msg/s: bench/README.md, "Rows claimed ahead").
  const rounds = before ? Math.max(1, ROUNDS) : 1;
  const olds: Measured[] = [];
  const ms: (Measured & { acceptRate: number })[] = [];
  for (let i = 0; i < rounds; i++) {
    if (before && i % 2 === 0) olds.push(await ingestMailhook(before));
    ms.push(await ingestMailhook());
    if (before && i % 2 === 1) olds.push(await ingestMailhook(before));
  }
  const old = before ? medianRound(olds) : null;
  const m = medianRound(ms);
  const sink = await smtpSink();
  const met = (ok: boolean) => (ok ? 'met' : 'NOT MET') as Row['met'];
  const rows: Row[] = [
    {
      scenario: `ingest ${N}×${SIZE} B, ${CONNS} conns (msg/s, webhook arrived) vs (b) smtp-server+mailparser`,
      mailhook: fmt(m.rate),
      baseline: fmt(b.rate),
      ratio: ratio(m.rate, b.rate),
      target: '≥ 0.80×',
      met: met(m.rate >= 0.8 * b.rate),
    },
    { scenario: 'ingest vs (a) bare smtp-server (msg/s)', mailhook: fmt(m.rate), baseline: fmt(a.rate), ratio: ratio(m.rate, a.rate), target: 'printed', met: '—' },
    {
      scenario: "ingest vs (c) smtp-server+mailparser+one fsync'd file per message (msg/s)",
      mailhook: fmt(m.rate),
      baseline: fmt(c.rate),
      ratio: ratio(m.rate, c.rate),
      target: 'printed',
      met: '—',
    },
    {
      scenario: 'ingest vs (d) smtp-server+mailparser+webhook POST after the 250 (msg/s, webhook arrived)',
      mailhook: fmt(m.rate),
      baseline: fmt(d.rate),
      ratio: ratio(m.rate, d.rate),
      target: 'printed',
      met: '—',
    },
    {
      scenario: "ingest vs (e) (c)+webhook POST after the 250: durable file + webhook, no database (msg/s, webhook arrived)",
      mailhook: fmt(m.rate),
      baseline: fmt(e.rate),
      ratio: ratio(m.rate, e.rate),
      target: 'printed',
      met: '—',
    },
    {
      scenario: 'ingest vs (f) (b)+raw INSERTed into SQLite (WAL, synchronous=FULL, group commit) before the 250, then the POST (msg/s, webhook arrived)',
      mailhook: fmt(m.rate),
      baseline: fmt(f.rate),
      ratio: ratio(m.rate, f.rate),
      target: '≥ 0.80×',
      met: met(m.rate >= 0.8 * f.rate),
    },
    old
      ? {
          scenario: `ingest vs Mailhook before (${before!.label}), same run (msg/s, webhook arrived)`,
          mailhook: fmt(m.rate),
          baseline: fmt(old.rate),
          ratio: ratio(m.rate, old.rate),
          target: '≥ 2×',
          met: met(m.rate >= 2 * old.rate),
        }
      : { scenario: 'ingest vs Mailhook before (BENCH_BEFORE unset)', mailhook: fmt(m.rate), baseline: 'not run', ratio: '—', target: '≥ 2×', met: '—' },
    { scenario: '(d) and (e) as fractions of (b): what a webhook, and a durable file + webhook, cost before any Mailhook code', mailhook: '—', baseline: `${ratio(d.rate, b.rate)} / ${ratio(e.rate, b.rate)}`, ratio: '—', target: 'printed', met: '—' },
    { scenario: 'ingest: 250 replies/s (acceptance) vs (b)', mailhook: fmt(m.acceptRate), baseline: fmt(b.rate), ratio: ratio(m.acceptRate, b.rate), target: 'printed', met: '—' },
    {
      scenario: 'ingest: server CPU ms per message (user+sys, all threads) vs (b)',
      mailhook: fmt(m.cpuMsPerMsg, 2),
      baseline: fmt(b.cpuMsPerMsg, 2),
      ratio: ratio(m.cpuMsPerMsg, b.cpuMsPerMsg),
      target: 'printed',
      met: '—',
    },
    {
      scenario: 'ingest: server CPU ms per message vs (c)',
      mailhook: fmt(m.cpuMsPerMsg, 2),
      baseline: fmt(c.cpuMsPerMsg, 2),
      ratio: ratio(m.cpuMsPerMsg, c.cpuMsPerMsg),
      target: 'printed',
      met: '—',
    },
    {
      scenario: 'ingest: server CPU ms per message vs (e)',
      mailhook: fmt(m.cpuMsPerMsg, 2),
      baseline: fmt(e.cpuMsPerMsg, 2),
      ratio: ratio(m.cpuMsPerMsg, e.cpuMsPerMsg),
      target: 'printed',
      met: '—',
    },
    {
      scenario: 'ingest: server CPU ms per message vs (f)',
      mailhook: fmt(m.cpuMsPerMsg, 2),
      baseline: fmt(f.cpuMsPerMsg, 2),
      ratio: ratio(m.cpuMsPerMsg, f.cpuMsPerMsg),
      target: 'printed',
      met: '—',
    },
    ...(old
      ? [
          {
            scenario: `ingest: server CPU ms per message vs Mailhook before (${before!.label})`,
            mailhook: fmt(m.cpuMsPerMsg, 2),
            baseline: fmt(old.cpuMsPerMsg, 2),
            ratio: ratio(m.cpuMsPerMsg, old.cpuMsPerMsg),
            target: 'printed',
            met: '—' as const,
          },
        ]
      : []),
    sink
      ? { scenario: 'ingest: Postfix smtp-sink, native upper bound (bench client)', mailhook: fmt(m.rate), baseline: fmt(sink.ourClient), ratio: ratio(m.rate, sink.ourClient), target: 'printed', met: '—' }
      : { scenario: 'ingest: Postfix smtp-sink, native upper bound', mailhook: fmt(m.rate), baseline: 'not installed', ratio: '—', target: 'printed', met: '—' },
    sink
      ? { scenario: 'ingest: smtp-source -d → smtp-sink (all native)', mailhook: '—', baseline: fmt(sink.smtpSource), ratio: '—', target: 'printed', met: '—' }
      : { scenario: 'ingest: smtp-source -d → smtp-sink (all native)', mailhook: '—', baseline: 'not installed', ratio: '—', target: 'printed', met: '—' },
  ];
  report('Ingest throughput', rows, [
    ...(rounds > 1
      ? [`${rounds} rounds each, alternating which goes first, median round in the table: Mailhook ${ms.map((r) => fmt(r.rate)).join(', ')} msg/s (${ms.map((r) => fmt(r.cpuMsPerMsg, 2)).join(', ')} CPU ms/msg); ${before!.label} ${olds.map((r) => fmt(r.rate)).join(', ')} msg/s (${olds.map((r) => fmt(r.cpuMsPerMsg, 2)).join(', ')}).`]
      : []),
    `Mailhook: ${m.note}; (a) ${a.accepted}, (b) ${b.accepted}, (c) ${c.accepted} got 250; (d) ${d.note}; (e) ${e.note}; (f) ${f.note}${old ? `; before: ${old.note}` : ''}. Warm-up ${WARMUP} messages per server, not counted.`,
    `Data folders on ${fsOf(benchTmp())}.`,
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('ingest', ingest);
