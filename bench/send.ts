/**
 * Scenario "send": BENCH_SEND_MESSAGES (1000) sends of a 4 KB text through POST /v1/send from
 * 10 concurrent API clients, delivered by Mailhook's outbound queue to a local MX (smtp-server
 * on 127.0.0.1, found through an MX record on a loopback DNS server). Throughput = messages
 * accepted by the MX per second, from the first request to the last arrival. Baseline: the same
 * messages sent by nodemailer (10 pooled clients) straight to the same MX in the same run: no
 * storage, no signing, no queue. Then 250 → email.sent latency: from the MX's 250 for a message
 * to the arrival of its signed email.sent event at a local webhook receiver. Both sides first send
 * BENCH_SEND_WARMUP messages (to other recipients, not counted), so that neither is measured
 * while loading and compiling its code. With BENCH_BEFORE (a checkout of an earlier commit), that
 * Mailhook is measured too, the same way, in the same run; BENCH_SEND_ROUNDS (1) rounds then
 * alternate which of the two goes first, with the baseline in every round, and medians are reported.
 */
import { existsSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { createApiKey } from '../src/auth/api-keys.js';
import { startDnsServer } from '../src/dev/dns-server.js';
import { newWebhookSecret } from '../src/deliver/sign.js';
import { newDkimKey } from '../src/send/dkim-key.js';
import { seedUserAndDomain } from '../test/helpers/deps.js';
import { beforeMain, ensureDist, SECRET, startMailhook, type Before } from './lib/mailhook.js';
import { envInt, fmt, guarded, progress, quantile, ratio, report, type Row } from './lib/report.js';

const MESSAGES = envInt('BENCH_SEND_MESSAGES', 2000);
const WARMUP = envInt('BENCH_SEND_WARMUP', 200);
const ROUNDS = envInt('BENCH_SEND_ROUNDS', 1);
const CLIENTS = 10;
const TEXT = 'x'.repeat(76).concat('\n').repeat(53); // ~4 KB
const to = (phase: string, n: number) => `${phase}${n}@bench-dest.test`;

async function startSink() {
  const acceptedAt = new Map<string, number>();
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, cb) {
      stream.on('data', () => {});
      stream.on('end', () => {
        const at = performance.now();
        for (const r of session.envelope.rcptTo) if (!acceptedAt.has(r.address)) acceptedAt.set(r.address, at);
        cb();
      });
    },
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.server.address() as AddressInfo).port, acceptedAt, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/**
 * The API clients' request: node:http over kept connections (one per client), not fetch. The
 * clients are part of the harness, not of Mailhook, and share its two cores: undici's fetch
 * (web streams, a Request and a Response per call) cost this process several times what the
 * request itself does (bench/README.md, "Issue 12, throughput, second part").
 */
const agent = new Agent({ keepAlive: true, maxSockets: CLIENTS });
function post(port: number, key: string, body: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: '/v1/send', method: 'POST', agent, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode ?? 0, body: text })).on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const sum = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

interface Measured {
  rate: number;
  acceptedMs: number;
  cpu: { server: number; bench: number };
  lat: number[];
}

const perMsg = (sec: number) => (sec * 1000) / MESSAGES;

async function main() {
  const sink = await startSink();
  const dns = await startDnsServer([
    { name: 'bench-dest.test', type: 'MX', value: 'mx.bench-dest.test' },
    { name: 'mx.bench-dest.test', type: 'A', value: '127.0.0.1' },
  ]);
  const sentAt = new Map<string, number>();
  const hooks = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c)).on('end', () => {
      const e = JSON.parse(body) as { type: string; data: { recipient: string } };
      if (e.type === 'email.sent' && !sentAt.has(e.data.recipient)) sentAt.set(e.data.recipient, performance.now());
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hooks.listen(0, '127.0.0.1', r));
  const hookUrl = `http://127.0.0.1:${(hooks.address() as AddressInfo).port}/events`;
  const key = await newDkimKey(SECRET);

  /**
   * One Mailhook (this checkout's dist/, or `before` as its own Dockerfile ran it: as production
   * runs each): warm-up, then the measured sends.
   */
  async function measureMailhook(label: string, before?: Before): Promise<Measured> {
    if (!before) ensureDist();
    const keys: string[] = [];
    const mh = await startMailhook(
      `send-${label}`,
      async (deps) => {
        const { user, domain } = await seedUserAndDomain(deps, 'bench.test');
        await deps.repos.domains.setDkimKey(domain.id, key);
        await deps.repos.domains.setDkimVerified(domain.id, Date.now());
        await deps.repos.domains.setWebhook(domain.id, hookUrl, newWebhookSecret());
        // One key per client: each stays under the 600 requests/min per-credential limit.
        for (let i = 0; i < CLIENTS; i++) keys.push((await createApiKey(deps, { userId: user.id, name: `bench${i}`, scopes: ['send'], domainId: null })).secret);
      },
      { DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(sink.port), SEND_RATE_PER_MINUTE: '1000000' },
      before ? { main: before.main, built: before.built } : { built: true },
    );
    try {
      const run = async (phase: string, count: number) => {
        let next = 0;
        await Promise.all(
          keys.map(async (k) => {
            while (next < count) {
              const n = next++;
              const res = await post(mh.httpPort, k, JSON.stringify({ from: 'app@bench.test', to: to(phase, n), subject: `bench ${n}`, text: TEXT }));
              if (res.status !== 202) throw new Error(`send ${phase}${n}: ${res.status} ${res.body}`);
            }
          }),
        );
        return [...Array(count).keys()].map((n) => to(phase, n));
      };
      const arrived = async (all: string[]) => {
        if (!(await until(() => all.every((r) => sink.acceptedAt.has(r)), 300_000))) throw new Error(`${label}: not every send arrived`);
      };
      if (WARMUP) {
        progress(`${label}: warm-up, ${WARMUP} sends`);
        const w = await run(`w${label}-`, WARMUP);
        await arrived(w);
        await until(() => w.every((r) => sentAt.has(r)), 60_000);
      }
      progress(`${label}: ${MESSAGES} sends over ${CLIENTS} API clients`);
      const phase = `m${label}-`;
      const cpu0 = { server: mh.stats().cpuSec, bench: process.cpuUsage() };
      const t0 = performance.now();
      const all = await run(phase, MESSAGES);
      const acceptedMs = performance.now() - t0;
      await arrived(all);
      const lastArrival = Math.max(...all.map((r) => sink.acceptedAt.get(r)!)) - t0;
      await until(() => all.every((r) => sentAt.has(r)), 60_000);
      // CPU per message, both sides (this process runs the clients, the MX and the webhook receiver):
      // on a shared 2-core machine the CPU a message costs, not the wall clock, is what can be compared.
      const cpu = { server: perMsg(mh.stats().cpuSec - cpu0.server), bench: perMsg(sum(process.cpuUsage(cpu0.bench))) };
      const lat = all.flatMap((r) => {
        const a = sink.acceptedAt.get(r);
        const e = sentAt.get(r);
        return a !== undefined && e !== undefined ? [e - a] : [];
      });
      return { rate: (MESSAGES / lastArrival) * 1000, acceptedMs, cpu, lat };
    } finally {
      await mh.stop();
    }
  }

  try {
    // A checkout from before sending existed (`npm run bench` passes BENCH_BEFORE, the ingest
    // baseline 66637c6, to every scenario) has no /v1/send to compare: measured without it.
    const candidate = beforeMain();
    const before = candidate && existsSync(join(candidate.dir, 'src', 'send', 'submit.ts')) ? candidate : null;
    if (candidate && !before) progress(`${candidate.label} has no src/send/: no earlier Mailhook in this run`);
    const transports = Array.from({ length: CLIENTS }, () =>
      nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1 }),
    );
    const baseline = async (phase: string, count: number) => {
      let next = 0;
      await Promise.all(
        transports.map(async (t) => {
          while (next < count) {
            const n = next++;
            await t.sendMail({ from: 'app@bench.test', to: to(phase, n), subject: `bench ${n}`, text: TEXT });
          }
        }),
      );
    };
    let baselineWarm = false;
    const measureBaseline = async (label: string) => {
      progress(`baseline${label}: nodemailer straight to the MX`);
      if (WARMUP && !baselineWarm) await baseline('wb-', WARMUP);
      baselineWarm = true;
      const bcpu0 = process.cpuUsage();
      const b0 = performance.now();
      await baseline(`b${label}-`, MESSAGES);
      return { rate: (MESSAGES / (performance.now() - b0)) * 1000, cpu: perMsg(sum(process.cpuUsage(bcpu0))) };
    };
    // BENCH_SEND_ROUNDS rounds (with BENCH_BEFORE, alternating which of the two goes first), and the
    // baseline runs in every round; each figure is the median over the rounds, a ratio the median
    // of the rounds' ratios (each side against its own round's baseline).
    const olds: Measured[] = [];
    const ms: Measured[] = [];
    const bases: { rate: number; cpu: number }[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      const sides = [async () => ms.push(await measureMailhook(`mailhook${round}`)), ...(before ? [async () => olds.push(await measureMailhook(`before${round}`, before))] : [])];
      if (round % 2 === 1) sides.reverse();
      for (const side of sides) await side();
      bases.push(await measureBaseline(String(round)));
    }
    for (const t of transports) t.close();
    agent.destroy();
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const medianRound = (xs: Measured[]) => [...xs].sort((a, b) => a.rate - b.rate)[Math.floor((xs.length - 1) / 2)]!;
    const m = medianRound(ms);
    const old = olds.length ? medianRound(olds) : null;
    const mRatio = med(ms.map((x, i) => x.rate / bases[i]!.rate));
    const oldRatio = olds.length ? med(olds.map((x, i) => x.rate / bases[i]!.rate)) : 0;
    const baselineMs = (MESSAGES / med(bases.map((b) => b.rate))) * 1000;
    const cpuBaseline = med(bases.map((b) => b.cpu));

    const base = (MESSAGES / baselineMs) * 1000;
    const latRow = (name: string, x: Measured): Row => ({
      scenario: `send${name}: MX 250 → email.sent event, ms`,
      mailhook: `p50=${fmt(quantile(x.lat, 0.5), 1)} p99=${fmt(quantile(x.lat, 0.99), 1)} (n=${x.lat.length})`,
      baseline: '—',
      ratio: '—',
      target: '—',
      met: '—',
    });
    const notes = (name: string, x: Measured) =>
      `${name}: 202s for all ${MESSAGES} took ${fmt(x.acceptedMs, 0)} ms (${fmt((MESSAGES / x.acceptedMs) * 1000, 0)}/s accepted by the API); CPU per message: server ${fmt(x.cpu.server, 2)} ms + bench process (API clients, MX, webhook receiver) ${fmt(x.cpu.bench, 2)} ms.`;
    report(
      'Sending: POST /v1/send to a local MX',
      [
        {
          scenario: `send: ${MESSAGES} × 4 KB, ${CLIENTS} API clients → MX, msg/s`,
          mailhook: fmt(m.rate, 0),
          baseline: fmt(base, 0),
          ratio: ratio(mRatio, 1),
          target: '≥ 0.5×',
          met: mRatio >= 0.5 ? 'met' : 'NOT MET',
        },
        latRow('', m),
        ...(old && before
          ? [
              { scenario: `send, before (${before.label}), msg/s`, mailhook: fmt(old.rate, 0), baseline: fmt(base, 0), ratio: ratio(oldRatio, 1), target: '—', met: '—' } as Row,
              latRow(`, before (${before.label})`, old),
            ]
          : []),
      ],
      [
        notes('Mailhook', m),
        ...(old && before ? [notes(`Before (${before.label})`, old)] : []),
        ...(ms.length > 1 ? [`Rounds (msg/s), Mailhook: ${ms.map((x) => fmt(x.rate, 0)).join(', ')}; before: ${olds.map((x) => fmt(x.rate, 0)).join(', ')}; baseline: ${bases.map((x) => fmt(x.rate, 0)).join(', ')}; medians shown, ratios are the median of the rounds' ratios.`] : []),
        ...(ms.length > 1 ? [`Rounds (server CPU ms/msg), Mailhook: ${ms.map((x) => fmt(x.cpu.server, 2)).join(', ')}; before: ${olds.map((x) => fmt(x.cpu.server, 2)).join(', ')}.`] : []),
        `Baseline (nodemailer + MX): CPU per message ${fmt(cpuBaseline, 2)} ms. Warm-up ${WARMUP} messages per side, not counted.`,
      ],
    );
  } finally {
    await Promise.all([sink.close(), dns.close(), new Promise((r) => hooks.close(r))]);
  }
}

await guarded('Sending: POST /v1/send to a local MX', main);
