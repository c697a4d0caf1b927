/**
 * Scenario 7, event-loop stall (issue 14, issue 11 item 2): one account keeps BENCH_STALL_DRY_RUNS
 * (40) pathological 8 MB dry runs (`POST /api/routes/test`) in flight for BENCH_STALL_SECONDS (15),
 * half with 200,000 encoded-word headers, half with 160,000 repeated `<div><a …>`, each loop with a
 * session of its own (the per-credential limit would otherwise cut the load). Meanwhile
 * `GET /api/health` every 100 ms and an ordinary 4 KB SMTP transaction every 100 ms (two reused
 * connections) are timed. Baseline: the same probes on the same server without the load, both
 * after a warm-up (warmUp). With BENCH_BEFORE (an earlier checkout) the same load against it, for
 * the before/after.
 */
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createSession } from '../src/auth/sessions.js';
import type { Deps } from '../src/deps.js';
import { addRoute, seedUserAndDomain } from '../test/helpers/deps.js';
import { beforeMain, ensureDist, startMailhook, type Before, type RunningMailhook } from './lib/mailhook.js';
import { plainMessage } from './lib/messages.js';
import { sleep, startNode } from './lib/proc.js';
import { envInt, fmt, guarded, quantile, ratio, report, type Row } from './lib/report.js';
import { runLoad } from './lib/smtp-client.js';

const DRY_RUNS = envInt('BENCH_STALL_DRY_RUNS', 40);
const SECONDS = envInt('BENCH_STALL_SECONDS', 15);
const PROBE_MS = 100;
const DOMAIN = 'bench.test';
const ATTACKER = fileURLToPath(new URL('./lib/dry-run-attacker.ts', import.meta.url));

interface Probes {
  healthMs: number[];
  healthErrors: string[];
  smtpMs: number[];
  dryRuns: number;
  statuses: Record<string, number>;
  /** The server's own view of the timed window, from its /metrics (below). */
  server: ServerView | null;
}

interface ServerView {
  /** Event-loop delay (prom-client's monitorEventLoopDelay, reset by each scrape), ms. */
  loopMaxMs: number;
  loopP99Ms: number;
  /** Group commits in the window (each ends with the WAL fsync), their mean and how many took over 100 ms. */
  commits: number;
  commitMeanMs: number;
  commitsOver100Ms: number;
}

/** One scrape of the server's /metrics (loopback needs no token): the values this bench reads. */
async function scrape(base: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^(nodejs_eventloop_lag_(?:max|p99)_seconds|mailhook_group_commit_seconds_(?:sum|count|bucket\{le="0\.1"\})) ([\d.e+-]+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

function serverView(before: Map<string, number>, after: Map<string, number>): ServerView {
  const d = (k: string) => (after.get(k) ?? 0) - (before.get(k) ?? 0);
  const commits = d('mailhook_group_commit_seconds_count');
  return {
    loopMaxMs: (after.get('nodejs_eventloop_lag_max_seconds') ?? NaN) * 1000,
    loopP99Ms: (after.get('nodejs_eventloop_lag_p99_seconds') ?? NaN) * 1000,
    commits,
    commitMeanMs: commits ? (d('mailhook_group_commit_seconds_sum') / commits) * 1000 : 0,
    commitsOver100Ms: commits - d('mailhook_group_commit_seconds_bucket{le="0.1"}'),
  };
}

async function probe(mh: RunningMailhook, tokens: string[], domainId: string, loaded: boolean): Promise<Probes> {
  const base = `http://127.0.0.1:${mh.httpPort}`;
  const out: Probes = { healthMs: [], healthErrors: [], smtpMs: [], dryRuns: 0, statuses: {}, server: null };
  // The load runs in a process of its own: these timings must not include the attacker's event loop.
  const attacker = loaded
    ? startNode(ATTACKER, [], {
        ATTACK_URL: base,
        ATTACK_DOMAIN_ID: domainId,
        ATTACK_DOMAIN: DOMAIN,
        ATTACK_TOKENS: tokens.join(','),
        // Three seconds' head start (building the bodies, getting going) and one after the probes.
        ATTACK_SECONDS: String(SECONDS + 4),
      })
    : null;
  const attacked = attacker
    ? new Promise<void>((resolve) => {
        let outText = '';
        attacker.proc.stdout?.on('data', (d: Buffer) => (outText += d.toString()));
        attacker.proc.once('exit', () => {
          const statuses = JSON.parse(outText.trim().split('\n').pop() || '{}') as Record<string, number>;
          out.statuses = statuses;
          out.dryRuns = Object.values(statuses).reduce((x, y) => x + y, 0);
          resolve();
        });
      })
    : Promise.resolve();
  if (attacker) await sleep(3000);
  // An earlier checkout may have no /metrics: then no server view.
  const scraped = await scrape(base).catch(() => null);
  const until = performance.now() + SECONDS * 1000;
  const health = async () => {
    while (performance.now() < until) {
      const t0 = performance.now();
      try {
        await (await fetch(`${base}/api/health`)).text();
        out.healthMs.push(performance.now() - t0);
      } catch (err) {
        // Counted, and timed as the wait it was: a probe that failed never got its answer.
        out.healthErrors.push((err as Error).cause ? String((err as Error & { cause: Error }).cause.message) : String(err));
        out.healthMs.push(performance.now() - t0);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, PROBE_MS - (performance.now() - t0))));
    }
  };
  const smtp = runLoad({
    port: mh.smtpPort,
    connections: 2,
    messages: Math.floor((SECONDS * 1000) / PROBE_MS),
    ratePerSec: 1000 / PROBE_MS,
    message: (s) => plainMessage(s, `x@${DOMAIN}`),
    rcptTo: () => `x@${DOMAIN}`,
    timeoutMs: (SECONDS + 120) * 1000,
  });
  await health();
  out.smtpMs = (await smtp).transactionMs;
  if (scraped) out.server = serverView(scraped, await scrape(base));
  await attacked;
  return out;
}

/**
 * The first transactions after a start load mailauth and mailparser (lazily, issue 19: ~0.9 s
 * under tsx) and the first dry runs start the parse threads: done before either phase is timed,
 * their times returned (printed apart: a start-up cost, not a stall).
 */
async function warmUp(mh: RunningMailhook, token: string, domainId: string): Promise<number[]> {
  const base = `http://127.0.0.1:${mh.httpPort}`;
  const cold = await runLoad({
    port: mh.smtpPort,
    connections: 2,
    messages: 10,
    message: (s) => plainMessage(s, `x@${DOMAIN}`),
    rcptTo: () => `x@${DOMAIN}`,
  });
  await (await fetch(`${base}/api/health`)).text();
  // Two at once (the account's cap): both parse threads start.
  const raw = plainMessage(0, `x@${DOMAIN}`).toString();
  await Promise.all(
    [0, 1].map(async () => {
      const res = await fetch(`${base}/api/routes/test`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ domain_id: domainId, raw, recipient: `x@${DOMAIN}` }),
      });
      if (res.status !== 200) throw new Error(`warm-up dry run: ${res.status} ${await res.text()}`);
    }),
  );
  return cold.transactionMs.slice(0, 2);
}

/** Mailhook as production runs it: this checkout's dist/, `before` as its own Dockerfile ran it. */
async function run(before?: Before): Promise<{ idle: Probes; loaded: Probes; cold: number[] }> {
  if (!before) ensureDist();
  let domainId = '';
  let tokens: string[] = [];
  const mh = await startMailhook(before ? 'stall-before' : 'stall', async (deps) => {
    const seed = await addRouteSeed(deps);
    domainId = seed.domainId;
    tokens = await Promise.all(Array.from({ length: DRY_RUNS }, () => createSession(deps, seed.userId)));
  }, {}, before ? { main: before.main, built: before.built } : { built: true });
  try {
    const cold = await warmUp(mh, tokens[0]!, domainId);
    const idle = await probe(mh, tokens, domainId, false);
    const loaded = await probe(mh, tokens, domainId, true);
    return { idle, loaded, cold };
  } finally {
    await mh.stop();
  }
}

async function addRouteSeed(deps: Deps) {
  const { user, domain } = await seedUserAndDomain(deps, DOMAIN);
  await addRoute(deps, { userId: user.id, domainId: domain.id }, { match: `*@${DOMAIN}` });
  return { userId: user.id, domainId: domain.id };
}

const p99 = (v: number[]) => quantile(v, 0.99);

export async function stall(): Promise<void> {
  const before = beforeMain();
  const old = before ? await run(before) : null;
  const now = await run();
  const rows: Row[] = [];
  const add = (what: string, m: Probes, idle: Probes, label: string) => {
    rows.push({
      scenario: `stall: GET /api/health p99 (ms) with ${DRY_RUNS} pathological 8 MB dry runs in flight vs none${label}`,
      mailhook: fmt(p99(m.healthMs), 1),
      baseline: fmt(p99(idle.healthMs), 1),
      ratio: ratio(p99(m.healthMs), p99(idle.healthMs)),
      target: what === 'now' ? '≤ 500 ms' : 'printed',
      met: what === 'now' ? (p99(m.healthMs) <= 500 ? 'met' : 'NOT MET') : '—',
    });
    rows.push({
      scenario: `stall: SMTP transaction MAIL → 250 p99 (ms) with the dry runs vs none${label}`,
      mailhook: fmt(p99(m.smtpMs), 1),
      baseline: fmt(p99(idle.smtpMs), 1),
      ratio: ratio(p99(m.smtpMs), p99(idle.smtpMs)),
      target: what === 'now' ? '≤ 500 ms' : 'printed',
      met: what === 'now' ? (p99(m.smtpMs) <= 500 ? 'met' : 'NOT MET') : '—',
    });
  };
  add('now', now.loaded, now.idle, '');
  if (old) add('before', old.loaded, old.idle, `, Mailhook before (${before!.label})`);
  const worst = (v: number[]) => [...v].sort((a, b) => b - a).slice(0, 3).map((x) => x.toFixed(0)).join(', ');
  const note = (p: Probes) => `slowest SMTP ${worst(p.smtpMs)} ms, health ${worst(p.healthMs)} ms${view(p)}; ${p.dryRuns} dry runs answered (${Object.entries(p.statuses).map(([s, n]) => `${n}× ${s}`).join(', ')}), ${p.healthMs.length} health probes (${p.healthErrors.length} failed${p.healthErrors[0] ? `: ${p.healthErrors[0]}` : ''}), ${p.smtpMs.length} SMTP transactions`;
  const view = (p: Probes) =>
    p.server
      ? `; the server's event loop delayed ≤ ${fmt(p.server.loopMaxMs, 0)} ms (p99 ${fmt(p.server.loopP99Ms, 0)}), ${p.server.commits} group commits of ${fmt(p.server.commitMeanMs, 1)} ms on average, ${p.server.commitsOver100Ms} over 100 ms`
      : '';
  const idleNote = (p: Probes) => `slowest SMTP ${worst(p.smtpMs)} ms, health ${worst(p.healthMs)} ms${view(p)}`;
  const coldNote = (cold: number[]) => cold.map((x) => x.toFixed(0)).join(' and ');
  report('Event-loop stall under pathological dry runs', rows, [
    `Now: ${note(now.loaded)}.${old ? ` Before: ${note(old.loaded)}.` : ''} ${SECONDS} s of load.`,
    `Idle, now: ${idleNote(now.idle)}${old ? `; before: ${idleNote(old.idle)}` : ''}. Not timed (warm-up after the start): the first SMTP transaction of each connection took ${coldNote(now.cold)} ms${old ? ` (before: ${coldNote(old.cold)})` : ''}.`,
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('stall', stall);
