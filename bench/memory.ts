/**
 * Scenario 7, memory (issue #19: Fly's smallest Machine has 256 MB). Mailhook runs as production
 * runs it: the compiled dist/ (`npm run build` first, done here), no TypeScript loader. Twice:
 * with Node's default heap, and with the node flags of the Dockerfile's CMD (the heap limits
 * chosen for a 256 MB Machine, read from the Dockerfile so this measures what is deployed).
 * Each run: idle RSS 5 s after start, then BENCH_MEMORY_MESSAGES (30,000) messages of 4,096 bytes
 * over BENCH_MEMORY_CONNECTIONS (50) connections, RSS sampled every 100 ms until every webhook
 * arrived; then (limited run) one message with a BENCH_BIG_MB (40) MB attachment, its peak RSS.
 * Targets: idle ≤ 90 MB; limited peak ≤ 200 MB with no message lost; limited throughput ≥ 0.9×
 * the default run's.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { seedRoutes, startMailhook, type RunningMailhook } from './lib/mailhook.js';
import { multipartMessage, plainMessage } from './lib/messages.js';
import { procStats, sleep } from './lib/proc.js';
import { startReceiver } from './lib/receiver.js';
import { envInt, fmt, guarded, ratio, report, type Row } from './lib/report.js';
import { runLoad, sendMessage } from './lib/smtp-client.js';

const N = envInt('BENCH_MEMORY_MESSAGES', 30_000);
const CONNS = envInt('BENCH_MEMORY_CONNECTIONS', 50);
const BIG_MB = envInt('BENCH_BIG_MB', 40);
const DOMAIN = 'bench.test';
const MB = 1024 * 1024;
const rcpt = (seq: number) => `in${seq % 50}@${DOMAIN}`;

/** The node flags of the Dockerfile's CMD: what a deployed Machine runs with. */
export function dockerNodeFlags(): string[] {
  const dockerfile = readFileSync(fileURLToPath(new URL('../Dockerfile', import.meta.url)), 'utf8');
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
  return cmd.filter((a) => a.startsWith('--'));
}

interface Run {
  idleMb: number;
  peakMb: number;
  p50Mb: number;
  rate: number;
  accepted: number;
  delivered: number;
  bigPeakMb?: number;
}

/** Samples RSS every 100 ms. */
function sampler(pid: number) {
  const samples: number[] = [];
  const t = setInterval(() => {
    try {
      samples.push(procStats(pid).rss);
    } catch {
      // exited
    }
  }, 100);
  return {
    stop() {
      clearInterval(t);
      return samples;
    },
  };
}

async function measure(name: string, nodeFlags: string[], big: boolean): Promise<Run> {
  const receiver = await startReceiver();
  let mh: RunningMailhook | undefined;
  try {
    mh = await startMailhook(name, async (deps) => await seedRoutes(deps, DOMAIN, [receiver.url]), { MAX_MESSAGE_BYTES: String(64 * MB) }, { built: true, nodeFlags });
    await sleep(5000);
    const idle = procStats(mh.child.pid).rss;
    const s = sampler(mh.child.pid);
    const t0 = performance.now();
    const load = await runLoad({
      port: mh.smtpPort,
      connections: CONNS,
      messages: N,
      message: (seq) => plainMessage(seq, rcpt(seq), 4096),
      rcptTo: rcpt,
      timeoutMs: 600_000,
    });
    await receiver.waitFor(load.accepted, 300_000);
    const seconds = (performance.now() - t0) / 1000;
    const samples = s.stop().sort((a, b) => a - b);
    if (load.errors.length) console.error(`  ${name}: client errors`, load.errors.slice(0, 3), load.refused);
    const run: Run = {
      idleMb: idle / MB,
      peakMb: (samples.at(-1) ?? NaN) / MB,
      p50Mb: (samples[Math.floor(samples.length / 2)] ?? NaN) / MB,
      rate: receiver.firstAt.size / seconds,
      accepted: load.accepted,
      delivered: receiver.firstAt.size,
    };
    if (big) {
      const bs = sampler(mh.child.pid);
      const content = randomBytes(BIG_MB * 1_000_000);
      const reply = await sendMessage(mh.smtpPort, 'big@bench.test', multipartMessage(N + 1, 'big@bench.test', [{ filename: 'big.bin', content }]));
      if (!reply.startsWith('250')) console.error(`  ${name}: big message answered ${reply}`);
      await receiver.waitFor(run.delivered + 1, 120_000);
      run.bigPeakMb = Math.max(...bs.stop()) / MB;
    }
    return run;
  } finally {
    await mh?.stop();
    await receiver.close();
  }
}

async function main() {
  console.log('building dist/ (npm run build) ...');
  execFileSync(process.execPath, [fileURLToPath(new URL('../bin/build.js', import.meta.url))], { stdio: 'inherit' });
  const limitedFlags = dockerNodeFlags();
  console.log(`memory: ${N} messages × 4096 B over ${CONNS} connections; limited run with ${limitedFlags.join(' ') || '(no flags)'}`);
  const free = await measure('memory-default', [], false);
  const limited = await measure('memory-limited', limitedFlags, true);
  const lost = (r: Run) => r.accepted - r.delivered;
  const rows: Row[] = [
    { scenario: 'memory: idle RSS after start (MB), default heap', mailhook: fmt(free.idleMb, 1), baseline: '—', ratio: '—', target: '≤ 90 MB', met: free.idleMb <= 90 ? 'met' : 'NOT MET' },
    { scenario: `memory: idle RSS after start (MB), ${limitedFlags.join(' ')}`, mailhook: fmt(limited.idleMb, 1), baseline: '—', ratio: '—', target: '≤ 90 MB', met: limited.idleMb <= 90 ? 'met' : 'NOT MET' },
    { scenario: `memory: RSS peak / median (MB) under ${N} msgs at ${CONNS} conns, default heap`, mailhook: `${fmt(free.peakMb, 1)} / ${fmt(free.p50Mb, 1)}`, baseline: '—', ratio: '—', target: 'printed', met: '—' },
    {
      scenario: `memory: RSS peak / median (MB) under the same load, limited heap; messages lost`,
      mailhook: `${fmt(limited.peakMb, 1)} / ${fmt(limited.p50Mb, 1)}; ${lost(limited)} lost`,
      baseline: '—',
      ratio: '—',
      target: '≤ 200 MB, 0 lost',
      met: limited.peakMb <= 200 && lost(limited) === 0 && limited.accepted === N ? 'met' : 'NOT MET',
    },
    {
      scenario: 'memory: throughput (msg/s, webhook arrived), limited heap vs default heap',
      mailhook: fmt(limited.rate),
      baseline: fmt(free.rate),
      ratio: ratio(limited.rate, free.rate),
      target: '≥ 0.90×',
      met: limited.rate >= 0.9 * free.rate ? 'met' : 'NOT MET',
    },
    {
      scenario: `memory: RSS peak (MB) with one ${BIG_MB} MB attachment, limited heap`,
      mailhook: fmt(limited.bigPeakMb ?? NaN, 1),
      baseline: '—',
      ratio: '—',
      target: '≤ 256 MB (Machine)',
      met: (limited.bigPeakMb ?? Infinity) <= 256 ? 'met' : 'NOT MET',
    },
  ];
  report('Memory (issue #19)', rows, [`default run: ${free.accepted} accepted, ${free.delivered} delivered`, `limited run: ${limited.accepted} accepted, ${limited.delivered} delivered`]);
}

await guarded('Memory (issue #19)', main);
