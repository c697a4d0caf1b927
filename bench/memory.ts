/**
 * Scenario 7, memory (issue #19: Fly's smallest Machine has 256 MB). Mailhook runs as production
 * runs it: the compiled dist/ (`npm run build` first, done here), no TypeScript loader. Twice:
 * with Node's default heap, and with the node flags of the Dockerfile's CMD (the heap limits
 * chosen for a 256 MB Machine) and the memory settings of fly.toml's [env], both read from those
 * files so this measures what is deployed.
 * Both run side by side: idle RSS 5 s after start, then each gets BENCH_MEMORY_MESSAGES (30,000)
 * messages of 4,096 bytes over BENCH_MEMORY_CONNECTIONS (50) connections, in BENCH_MEMORY_ROUNDS
 * (6) rounds taken in turns, RSS sampled every 100 ms during its own rounds until every webhook
 * arrived; then the limited one gets one message with a BENCH_BIG_MB (40) MB attachment, its peak RSS.
 * Targets: idle ≤ 90 MB; limited peak ≤ 200 MB with no message lost; limited throughput ≥ 0.9×
 * the default run's.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { gcSummary, threadCpu } from './lib/gc.js';
import { allowedCpus, cpuPlan, dockerNodeFlags, flyCpus, flyMemoryEnv } from './lib/machine.js';
import { buildDist, seedRoutes, startMailhook, type RunningMailhook } from './lib/mailhook.js';
import { multipartMessage, plainMessage } from './lib/messages.js';
import { procStats, sleep } from './lib/proc.js';
import { startReceiver, type Receiver } from './lib/receiver.js';
import { envInt, fmt, guarded, ratio, report, type Row } from './lib/report.js';
import { runLoad, sendMessage } from './lib/smtp-client.js';

const N = envInt('BENCH_MEMORY_MESSAGES', 30_000);
const CONNS = envInt('BENCH_MEMORY_CONNECTIONS', 50);
const BIG_MB = envInt('BENCH_BIG_MB', 40);
const ROUNDS = envInt('BENCH_MEMORY_ROUNDS', 6);
/** BENCH_MEMORY_GC_LOG=<dir>: both servers run with --trace-gc; logs and sums per message there and in the notes. */
const GC_LOG = process.env.BENCH_MEMORY_GC_LOG;
const DOMAIN = 'bench.test';
const MB = 1024 * 1024;
const rcpt = (seq: number) => `in${seq % 50}@${DOMAIN}`;

interface Server {
  name: string;
  mh: RunningMailhook;
  receiver: Receiver;
  idleMb: number;
  /** RSS samples taken while this server had a round running. */
  samples: number[];
  seconds: number;
  accepted: number;
  /** Distinct webhooks after the rounds (the big message comes after). */
  delivered: number;
  errors: string[];
  /** With BENCH_MEMORY_GC_LOG: the server's --trace-gc lines, and the lines up to the end of the rounds. */
  gcLines: string[];
  gcRoundsEnd: number;
  /** CPU seconds by thread name over the rounds (from /proc/<pid>/task/<tid>/stat). */
  cpu: Map<string, number>;
}

const kv = (list: string | undefined) =>
  Object.fromEntries(
    (list ?? '')
      .split(' ')
      .filter(Boolean)
      .map((p) => [p.slice(0, p.indexOf('=')), p.slice(p.indexOf('=') + 1)]),
  );

async function start(name: string, nodeFlags: string[], env: Record<string, string>, cpuList: string | undefined): Promise<Server> {
  const receiver = await startReceiver();
  let mh: RunningMailhook;
  try {
    mh = await startMailhook(name, async (deps) => await seedRoutes(deps, DOMAIN, [receiver.url]), { MAX_MESSAGE_BYTES: String(64 * MB), ...env }, { built: true, nodeFlags, cpuList });
  } catch (err) {
    await receiver.close(); // an open receiver would keep the bench running, holding the bench lock
    throw err;
  }
  const s: Server = { name, mh, receiver, idleMb: NaN, samples: [], seconds: 0, accepted: 0, delivered: 0, errors: [], gcLines: [], gcRoundsEnd: 0, cpu: new Map() };
  if (GC_LOG) {
    let rest = '';
    mh.child.proc.stdout!.on('data', (d: Buffer) => {
      const lines = (rest + d.toString()).split('\n');
      rest = lines.pop()!;
      s.gcLines.push(...lines.filter((l) => / ms: /.test(l)));
    });
  }
  return s;
}

/** One round: `count` messages (seq from `first`) until every webhook arrived, RSS sampled every 100 ms. */
async function round(s: Server, first: number, count: number): Promise<void> {
  const t = setInterval(() => {
    try {
      s.samples.push(procStats(s.mh.child.pid).rss);
    } catch {
      // exited
    }
  }, 100);
  const t0 = performance.now();
  const load = await runLoad({
    port: s.mh.smtpPort,
    connections: CONNS,
    messages: count,
    message: (i) => plainMessage(first + i, rcpt(first + i), 4096),
    rcptTo: (i) => rcpt(first + i),
    timeoutMs: 600_000,
  });
  s.accepted += load.accepted;
  await s.receiver.waitFor(s.accepted, 300_000);
  s.seconds += (performance.now() - t0) / 1000;
  s.delivered = s.receiver.firstAt.size;
  clearInterval(t);
  if (load.errors.length) s.errors.push(...load.errors.slice(0, 3));
}

/** Peak RSS (MB) while one message with a BIG_MB attachment goes through. */
async function bigMessage(s: Server): Promise<number> {
  const peak = { mb: 0 };
  const t = setInterval(() => {
    try {
      peak.mb = Math.max(peak.mb, procStats(s.mh.child.pid).rss / MB);
    } catch {
      // exited
    }
  }, 100);
  const content = randomBytes(BIG_MB * 1_000_000);
  const reply = await sendMessage(s.mh.smtpPort, 'big@bench.test', multipartMessage(N + 1, 'big@bench.test', [{ filename: 'big.bin', content }]));
  if (!reply.startsWith('250')) console.error(`  ${s.name}: big message answered ${reply}`);
  await s.receiver.waitFor(s.delivered + 1, 120_000);
  clearInterval(t);
  return peak.mb;
}

/** The servers' `taskset -c` list, once pin() has run (undefined: not pinned). */
let servers: string | undefined;

/**
 * Pins the bench to its cores and picks the servers' (cpuPlan) when taskset (util-linux) is
 * there and BENCH_MEMORY_PIN is not 0; says where everything runs.
 */
function pin(): string {
  const machine = flyCpus();
  const allowed = allowedCpus();
  const unpinned = `both servers and the bench share all ${allowed.length} cores, more than the Machine's ${machine} (fly.toml [[vm]] cpus): the default heap's GC helper threads get cores the Machine does not have`;
  if (process.env.BENCH_MEMORY_PIN === '0') return `BENCH_MEMORY_PIN=0: ${unpinned}`;
  const plan = cpuPlan(machine, allowed);
  if (!plan) return `only ${allowed.length} core(s), none left for the bench: ${unpinned.replace(/, more than.*$/, '')}`;
  try {
    execFileSync('taskset', ['-a', '-p', '-c', plan.bench, String(process.pid)], { stdio: 'ignore' });
  } catch {
    return `no taskset (util-linux) to pin with: ${unpinned}`;
  }
  servers = plan.servers;
  return `both servers on CPU ${plan.servers} (the Machine's ${machine}, fly.toml [[vm]] cpus), the bench's clients, receivers and DNS on CPU ${plan.bench}`;
}

async function main() {
  buildDist();
  // BENCH_MEMORY_LIMITED_FLAGS: node flags for the limited run instead of the Dockerfile's (to compare flag sets).
  const limitedFlags = process.env.BENCH_MEMORY_LIMITED_FLAGS?.split(' ').filter(Boolean) ?? dockerNodeFlags();
  // BENCH_MEMORY_LIMITED_ENV / BENCH_MEMORY_DEFAULT_ENV: "K=V K=V" over the limited run's fly.toml settings / the default run's none.
  const limitedEnv = { ...flyMemoryEnv(), ...kv(process.env.BENCH_MEMORY_LIMITED_ENV) };
  const defaultEnv = kv(process.env.BENCH_MEMORY_DEFAULT_ENV);
  // BENCH_MEMORY_DEFAULT_FLAGS: node flags for the default run (none: Node's default heap).
  const defaultFlags = process.env.BENCH_MEMORY_DEFAULT_FLAGS?.split(' ').filter(Boolean) ?? [];
  const gcFlags = GC_LOG ? ['--trace-gc'] : [];
  const limitedSettings = [...limitedFlags, ...Object.entries(limitedEnv).map(([k, v]) => `${k}=${v}`)].join(' ');
  const defaultSettings = [...defaultFlags, ...Object.entries(defaultEnv).map(([k, v]) => `${k}=${v}`)].join(' ');
  console.log(`memory: ${N} messages × 4096 B over ${CONNS} connections; limited run with ${limitedSettings || '(no flags)'}; default run with ${defaultSettings || '(no flags)'}`);
  const where = pin();
  console.log(`memory: ${where}`);
  // Both servers run side by side and take turns, ROUNDS rounds each, in the order AB BA AB …:
  // the load other work puts on this shared machine drifts by the minute, and alternating spreads
  // that drift over both sides of the ratio instead of charging it to whichever ran second.
  const started: Server[] = [];
  try {
    const free = await start('memory-default', [...defaultFlags, ...gcFlags], defaultEnv, servers);
    started.push(free);
    const limited = await start('memory-limited', [...limitedFlags, ...gcFlags], limitedEnv, servers);
    started.push(limited);
    await sleep(5000);
    for (const s of [free, limited]) s.idleMb = procStats(s.mh.child.pid).rss / MB;
    const per = Math.ceil(N / ROUNDS);
    const cpu0 = [free, limited].map((s) => threadCpu(s.mh.child.pid));
    for (const s of [free, limited]) s.gcLines.length = 0; // start-up and idle GCs are not the load's
    for (let r = 0; r < ROUNDS; r++) {
      const count = Math.min(per, N - r * per);
      for (const s of r % 2 === 0 ? [free, limited] : [limited, free]) await round(s, r * per, count);
    }
    [free, limited].forEach((s, i) => {
      s.gcRoundsEnd = s.gcLines.length;
      s.cpu = new Map([...threadCpu(s.mh.child.pid)].map(([k, v]) => [k, v - (cpu0[i]!.get(k) ?? 0)]));
    });
    const bigPeakMb = await bigMessage(limited);
    const gcNotes = [free, limited].map((s) => {
      const threads = [...s.cpu].filter(([, v]) => v >= 0.05).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${fmt(v, 1)} s`).join(', ');
      const total = [...s.cpu.values()].reduce((a, b) => a + b, 0);
      let note = `${s.name}: CPU over the rounds ${fmt(total, 1)} s (${fmt((total * 1000) / s.delivered, 2)} ms/msg): ${threads}`;
      if (GC_LOG) {
        const sum = gcSummary(s.gcLines.slice(0, s.gcRoundsEnd));
        const pause = Object.entries(sum).reduce((a, [, v]) => a + v.ms, 0);
        note += `; GC on the main thread ${fmt(pause / 1000, 2)} s (${fmt(pause / s.delivered, 3)} ms/msg): ${Object.entries(sum).map(([k, v]) => `${k} ${v.count}× ${fmt(v.ms, 0)} ms`).join(', ')}`;
        writeFileSync(`${GC_LOG}/${s.name}.log`, s.gcLines.join('\n') + '\n');
      }
      return note;
    });
    report('Memory (issue #19)', rows(free, limited, limitedSettings, bigPeakMb), [
      where,
      `${ROUNDS} rounds of ${per} messages each, alternating; load average at the end: ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
      ...[free, limited].map((s) => `${s.name}: ${s.accepted} accepted, ${s.delivered} delivered in ${fmt(s.seconds, 1)} s${s.errors.length ? `; client errors: ${s.errors.slice(0, 3).join(' | ')}` : ''}`),
      ...gcNotes,
    ]);
  } finally {
    // Everything started, also when the second server failed to start: the bench must exit.
    for (const s of started) {
      await s.mh.stop();
      await s.receiver.close();
    }
  }
}

const rate = (s: Server) => s.delivered / s.seconds;
const peakMb = (s: Server) => Math.max(...s.samples) / MB;
const medianMb = (s: Server) => [...s.samples].sort((a, b) => a - b)[Math.floor(s.samples.length / 2)]! / MB;
const lost = (s: Server) => s.accepted - s.delivered;

function rows(free: Server, limited: Server, limitedSettings: string, bigPeakMb: number): Row[] {
  return [
    { scenario: 'memory: idle RSS after start (MB), default heap', mailhook: fmt(free.idleMb, 1), baseline: '—', ratio: '—', target: '≤ 90 MB', met: free.idleMb <= 90 ? 'met' : 'NOT MET' },
    { scenario: `memory: idle RSS after start (MB), ${limitedSettings}`, mailhook: fmt(limited.idleMb, 1), baseline: '—', ratio: '—', target: '≤ 90 MB', met: limited.idleMb <= 90 ? 'met' : 'NOT MET' },
    { scenario: `memory: RSS peak / median (MB) under ${N} msgs at ${CONNS} conns, default heap`, mailhook: `${fmt(peakMb(free), 1)} / ${fmt(medianMb(free), 1)}`, baseline: '—', ratio: '—', target: 'printed', met: '—' },
    {
      scenario: `memory: RSS peak / median (MB) under the same load, limited heap; messages lost`,
      mailhook: `${fmt(peakMb(limited), 1)} / ${fmt(medianMb(limited), 1)}; ${lost(limited)} lost`,
      baseline: '—',
      ratio: '—',
      target: '≤ 200 MB, 0 lost',
      met: peakMb(limited) <= 200 && lost(limited) === 0 && limited.accepted === N ? 'met' : 'NOT MET',
    },
    {
      scenario: 'memory: throughput (msg/s, webhook arrived), limited heap vs default heap',
      mailhook: fmt(rate(limited)),
      baseline: fmt(rate(free)),
      ratio: ratio(rate(limited), rate(free)),
      target: '≥ 0.90×',
      met: rate(limited) >= 0.9 * rate(free) ? 'met' : 'NOT MET',
    },
    {
      scenario: `memory: RSS peak (MB) with one ${BIG_MB} MB attachment, limited heap`,
      mailhook: fmt(bigPeakMb, 1),
      baseline: '—',
      ratio: '—',
      target: '≤ 256 MB (Machine)',
      met: bigPeakMb <= 256 ? 'met' : 'NOT MET',
    },
  ];
}

await guarded('Memory (issue #19)', main);
