/**
 * Scenario 7, event-loop stall (issue 14, issue 11 item 2): one account keeps BENCH_STALL_DRY_RUNS
 * (40) pathological 8 MB dry runs (`POST /api/routes/test`) in flight for BENCH_STALL_SECONDS (15),
 * half with 200,000 encoded-word headers, half with 160,000 repeated `<div><a …>`, each loop with a
 * session of its own (the per-credential limit would otherwise cut the load). Meanwhile
 * `GET /api/health` every 100 ms and an ordinary 4 KB SMTP transaction every 100 ms (two reused
 * connections) are timed. Baseline: the same probes on the same server without the load. With
 * BENCH_BEFORE (an earlier checkout) the same load against it, for the before/after.
 */
import { performance } from 'node:perf_hooks';
import { createSession } from '../src/auth/sessions.js';
import type { Deps } from '../src/deps.js';
import { addRoute, seedUserAndDomain } from '../test/helpers/deps.js';
import { beforeMain, startMailhook, type RunningMailhook } from './lib/mailhook.js';
import { plainMessage } from './lib/messages.js';
import { envInt, fmt, guarded, quantile, ratio, report, type Row } from './lib/report.js';
import { runLoad } from './lib/smtp-client.js';

const DRY_RUNS = envInt('BENCH_STALL_DRY_RUNS', 40);
const SECONDS = envInt('BENCH_STALL_SECONDS', 15);
const PROBE_MS = 100;
const DOMAIN = 'bench.test';

function encodedWords(): string {
  const lines = ['From: a@sender.test', `To: x@${DOMAIN}`, 'Subject: stall'];
  for (let i = 0; i < 200_000; i++) lines.push(`X-W: =?utf-8?Q?caf=C3=A9_${i}?=`);
  return lines.join('\r\n') + '\r\n\r\nbody\r\n';
}

function nestedHtml(): string {
  const head = `From: a@sender.test\r\nTo: x@${DOMAIN}\r\nSubject: stall\r\nContent-Type: text/html\r\n\r\n`;
  return head + '<div><a href="https://example.com/xxxxxxxxxxxxx">'.repeat(160_000) + '\r\n';
}

interface Probes {
  healthMs: number[];
  healthErrors: string[];
  smtpMs: number[];
  dryRuns: number;
  statuses: Record<string, number>;
}

async function probe(mh: RunningMailhook, tokens: string[], domainId: string, loaded: boolean): Promise<Probes> {
  const base = `http://127.0.0.1:${mh.httpPort}`;
  const out: Probes = { healthMs: [], healthErrors: [], smtpMs: [], dryRuns: 0, statuses: {} };
  const until = performance.now() + SECONDS * 1000;
  const bodies = [encodedWords(), nestedHtml()].map((raw) => JSON.stringify({ domain_id: domainId, raw, recipient: `x@${DOMAIN}` }));
  const attacker = async (n: number) => {
    while (performance.now() < until) {
      const res = await fetch(`${base}/api/routes/test`, {
        method: 'POST',
        headers: { authorization: `Bearer ${tokens[n]}`, 'content-type': 'application/json' },
        body: bodies[n % 2],
      }).catch((err: Error) => ({ status: err.message, text: async () => '' }));
      await res.text();
      out.statuses[res.status] = (out.statuses[res.status] ?? 0) + 1;
      out.dryRuns++;
    }
  };
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
  await Promise.all([...(loaded ? Array.from({ length: DRY_RUNS }, (_, n) => attacker(n)) : []), health()]);
  out.smtpMs = (await smtp).transactionMs;
  return out;
}

async function run(main?: string): Promise<{ idle: Probes; loaded: Probes }> {
  let domainId = '';
  let tokens: string[] = [];
  const mh = await startMailhook(main ? 'stall-before' : 'stall', (deps) => {
    const seed = addRouteSeed(deps);
    domainId = seed.domainId;
    tokens = Array.from({ length: DRY_RUNS }, () => createSession(deps, seed.userId));
  }, {}, main);
  try {
    const idle = await probe(mh, tokens, domainId, false);
    const loaded = await probe(mh, tokens, domainId, true);
    return { idle, loaded };
  } finally {
    await mh.stop();
  }
}

function addRouteSeed(deps: Deps) {
  const { user, domain } = seedUserAndDomain(deps, DOMAIN);
  addRoute(deps, { userId: user.id, domainId: domain.id }, { match: `*@${DOMAIN}` });
  return { userId: user.id, domainId: domain.id };
}

const p99 = (v: number[]) => quantile(v, 0.99);

export async function stall(): Promise<void> {
  const before = beforeMain();
  const old = before ? await run(before.main) : null;
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
  const note = (p: Probes) => `${p.dryRuns} dry runs answered (${Object.entries(p.statuses).map(([s, n]) => `${n}× ${s}`).join(', ')}), ${p.healthMs.length} health probes (${p.healthErrors.length} failed${p.healthErrors[0] ? `: ${p.healthErrors[0]}` : ''}), ${p.smtpMs.length} SMTP transactions`;
  report('Event-loop stall under pathological dry runs', rows, [
    `Now: ${note(now.loaded)}.${old ? ` Before: ${note(old.loaded)}.` : ''} ${SECONDS} s of load.`,
  ]);
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('stall', stall);
