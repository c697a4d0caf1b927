/**
 * Scenario "send": BENCH_SEND_MESSAGES (1000) sends of a 4 KB text through POST /v1/send from
 * 10 concurrent API clients, delivered by Mailhook's outbound queue to a local MX (smtp-server
 * on 127.0.0.1, found through an MX record on a loopback DNS server). Throughput = messages
 * accepted by the MX per second, from the first request to the last arrival. Baseline: the same
 * messages sent by nodemailer (10 pooled clients) straight to the same MX in the same run: no
 * storage, no signing, no queue. Then 250 → email.sent latency: from the MX's 250 for a message
 * to the arrival of its signed email.sent event at a local webhook receiver.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import nodemailer from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { createApiKey } from '../src/auth/api-keys.js';
import { startDnsServer } from '../src/dev/dns-server.js';
import { newWebhookSecret } from '../src/deliver/sign.js';
import { newDkimKey } from '../src/send/dkim-key.js';
import { seedUserAndDomain } from '../test/helpers/deps.js';
import { SECRET, startMailhook } from './lib/mailhook.js';
import { envInt, fmt, guarded, progress, quantile, ratio, report } from './lib/report.js';

const MESSAGES = envInt('BENCH_SEND_MESSAGES', 1000);
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

const sum = (u: NodeJS.CpuUsage) => (u.user + u.system) / 1e6;

async function until(cond: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

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
  const keys: string[] = [];
  const mh = await startMailhook(
    'send',
    async (deps) => {
      const { user, domain } = await seedUserAndDomain(deps, 'bench.test');
      await deps.repos.domains.setDkimKey(domain.id, key);
      await deps.repos.domains.setDkimVerified(domain.id, Date.now());
      await deps.repos.domains.setWebhook(domain.id, hookUrl, newWebhookSecret());
      // One key per client: each stays under the 600 requests/min per-credential limit.
      for (let i = 0; i < CLIENTS; i++) keys.push((await createApiKey(deps, { userId: user.id, name: `bench${i}`, scopes: ['send'], domainId: null })).secret);
    },
    { DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(sink.port), SEND_RATE_PER_MINUTE: '1000000' },
  );
  try {
    progress(`mailhook: ${MESSAGES} sends over ${CLIENTS} API clients`);
    let next = 0;
    const cpu0 = { server: mh.stats().cpuSec, bench: process.cpuUsage() };
    const t0 = performance.now();
    await Promise.all(
      keys.map(async (k) => {
        while (next < MESSAGES) {
          const n = next++;
          const res = await fetch(`http://127.0.0.1:${mh.httpPort}/v1/send`, {
            method: 'POST',
            headers: { authorization: `Bearer ${k}`, 'content-type': 'application/json' },
            body: JSON.stringify({ from: 'app@bench.test', to: to('m', n), subject: `bench ${n}`, text: TEXT }),
          });
          if (res.status !== 202) throw new Error(`send ${n}: ${res.status} ${await res.text()}`);
        }
      }),
    );
    const acceptedMs = performance.now() - t0;
    if (!(await until(() => [...Array(MESSAGES).keys()].every((n) => sink.acceptedAt.has(to('m', n))), 300_000))) throw new Error('not every send arrived');
    const mailhookMs = Math.max(...[...Array(MESSAGES).keys()].map((n) => sink.acceptedAt.get(to('m', n))!)) - t0;
    await until(() => [...Array(MESSAGES).keys()].every((n) => sentAt.has(to('m', n))), 60_000);
    // CPU per message, both sides (this process runs the clients, the MX and the webhook receiver):
    // on a shared 2-core machine the CPU a message costs, not the wall clock, is what can be compared.
    const perMsg = (sec: number) => (sec * 1000) / MESSAGES;
    const cpuMailhook = { server: perMsg(mh.stats().cpuSec - cpu0.server), bench: perMsg(sum(process.cpuUsage(cpu0.bench))) };

    progress('baseline: nodemailer straight to the MX');
    next = 0;
    const bcpu0 = process.cpuUsage();
    const b0 = performance.now();
    await Promise.all(
      Array.from({ length: CLIENTS }, async () => {
        const t = nodemailer.createTransport({ host: '127.0.0.1', port: sink.port, secure: false, ignoreTLS: true, pool: true, maxConnections: 1 });
        try {
          while (next < MESSAGES) {
            const n = next++;
            await t.sendMail({ from: 'app@bench.test', to: to('b', n), subject: `bench ${n}`, text: TEXT });
          }
        } finally {
          t.close();
        }
      }),
    );
    const baselineMs = performance.now() - b0;
    const cpuBaseline = perMsg(sum(process.cpuUsage(bcpu0)));

    const rate = (MESSAGES / mailhookMs) * 1000;
    const base = (MESSAGES / baselineMs) * 1000;
    const lat = [...Array(MESSAGES).keys()].flatMap((n) => {
      const a = sink.acceptedAt.get(to('m', n));
      const e = sentAt.get(to('m', n));
      return a !== undefined && e !== undefined ? [e - a] : [];
    });
    report(
      'Sending: POST /v1/send to a local MX',
      [
        {
          scenario: `send: ${MESSAGES} × 4 KB, ${CLIENTS} API clients → MX, msg/s`,
          mailhook: fmt(rate, 0),
          baseline: fmt(base, 0),
          ratio: ratio(rate, base),
          target: '≥ 0.5×',
          met: rate / base >= 0.5 ? 'met' : 'NOT MET',
        },
        {
          scenario: 'send: MX 250 → email.sent event, ms',
          mailhook: `p50=${fmt(quantile(lat, 0.5), 1)} p99=${fmt(quantile(lat, 0.99), 1)} (n=${lat.length})`,
          baseline: '—',
          ratio: '—',
          target: '—',
          met: '—',
        },
      ],
      [
        `202s for all ${MESSAGES} took ${fmt(acceptedMs, 0)} ms (${fmt((MESSAGES / acceptedMs) * 1000, 0)}/s accepted by the API).`,
        `CPU per message: Mailhook server ${fmt(cpuMailhook.server, 2)} ms + bench process (API clients, MX, webhook receiver) ${fmt(cpuMailhook.bench, 2)} ms; baseline (nodemailer + MX) ${fmt(cpuBaseline, 2)} ms.`,
      ],
    );
  } finally {
    await mh.stop();
    await Promise.all([sink.close(), dns.close(), new Promise((r) => hooks.close(r))]);
  }
}

await guarded('Sending: POST /v1/send to a local MX', main);
