import { serve } from '@hono/node-server';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeliveryWorker } from '../../src/deliver/worker.js';
import { metricsAllowed } from '../../src/ops/metrics-access.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { parsePromText, type Scrape } from '../helpers/prom-text.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const TOKEN = 'metrics-token-0123456789abcdef';
const CRLF = '\r\n';
/** Over the mailparser header limit: stored as-is, with parse_error (test/hostile/mime-cases.ts). */
const hugeHead = () =>
  `From: a@sender.test${CRLF}To: in@metrics.test${CRLF}Subject: huge head${CRLF}` +
  Array.from({ length: 20_000 }, (_, i) => `X-Spam-${i}: ${'v'.repeat(90)}`).join(CRLF) +
  `${CRLF}${CRLF}body${CRLF}`;

function listen(app: ReturnType<typeof createApp>, hostname: string): Promise<Server> {
  return new Promise((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname }, () => resolve(s as Server));
  });
}

describe('GET /metrics', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let receiver: WebhookReceiver;
  let app: ReturnType<typeof createApp>;
  const servers: Server[] = [];
  const scrape = async (): Promise<Scrape> => {
    const res = await app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    return parsePromText(await res.text());
  };

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    deps = testDeps({ METRICS_TOKEN: TOKEN, MAX_MESSAGE_BYTES: String(3 * 1024 * 1024) });
    deps.metrics.collectProcessMetrics();
    const { user, domain } = await seedUserAndDomain(deps, 'metrics.test');
    await addRoute(deps, { userId: user.id, domainId: domain.id }, {
      match: '*@metrics.test',
      action: 'webhook',
      destination: receiver.url,
      secret: newWebhookSecret(),
    });
    smtp = await startSmtp(deps);
    app = createApp(deps);
  });

  afterAll(async () => {
    for (const s of servers) await new Promise((r) => s.close(r));
    await smtp.close();
    await receiver.close();
    await deps.cleanup();
  });

  it('counts SMTP traffic, storage, parse errors, group commits and webhook outcomes by the right amounts', { timeout: 60_000 }, async () => {
    const before = await scrape();
    const send = (raw: string) => smtp.transport.sendMail({ envelope: { from: 'a@sender.test', to: ['in@metrics.test'] }, raw });
    const plain = (n: number) => `From: a@sender.test${CRLF}To: in@metrics.test${CRLF}Subject: m${n}${CRLF}${CRLF}hello ${n}${CRLF}`;
    const bodies = [plain(1), plain(2), plain(3), hugeHead()];
    for (const raw of bodies) await send(raw);
    // Over MAX_MESSAGE_BYTES with no SIZE= declared: 552 after the dot, a 5xx transaction.
    await expect(send(plain(4) + 'x'.repeat(3 * 1024 * 1024 + 10))).rejects.toMatchObject({ responseCode: 552 });

    // Four deliveries: two delivered, one retried later (500), one stopped for good (410).
    receiver.next({ status: 200 }, { status: 500 }, { status: 410 }, { status: 200, delayMs: 300 });
    const worker = createDeliveryWorker(deps);
    await worker.runOnce();
    expect(receiver.requests).toHaveLength(4);

    const after = await scrape();
    const delta = (name: string, labels?: Record<string, string>) => after.value(name, labels) - before.value(name, labels);
    expect(delta('mailhook_smtp_connections_total', { result: 'accepted' })).toBe(5);
    expect(delta('mailhook_smtp_transactions_total', { class: '2xx' })).toBe(4);
    expect(delta('mailhook_smtp_transactions_total', { class: '5xx' })).toBe(1);
    expect(delta('mailhook_messages_stored_total')).toBe(4);
    expect(delta('mailhook_parse_errors_total')).toBe(1);
    // Every byte of DATA counts, the refused message's too (dot-stuffing and the final dot aside).
    const sent = bodies.reduce((n, b) => n + Buffer.byteLength(b), 0);
    expect(delta('mailhook_smtp_received_bytes_total')).toBeGreaterThanOrEqual(sent + 3 * 1024 * 1024);
    expect(delta('mailhook_smtp_received_bytes_total')).toBeLessThan(sent + 3 * 1024 * 1024 + 4096);

    expect(delta('mailhook_attempts_total', { kind: 'webhook', outcome: 'delivered' })).toBe(2);
    expect(delta('mailhook_attempts_total', { kind: 'webhook', outcome: 'retry' })).toBe(1);
    expect(delta('mailhook_attempts_total', { kind: 'webhook', outcome: 'failed' })).toBe(1);
    expect(delta('mailhook_attempt_duration_seconds_count', { kind: 'webhook' })).toBe(4);
    // The 300 ms answer lands above the 0.25 s bucket; the others (loopback, at once) below it.
    expect(delta('mailhook_attempt_duration_seconds_bucket', { kind: 'webhook', le: '0.25' })).toBeLessThanOrEqual(3);
    expect(delta('mailhook_attempt_duration_seconds_sum', { kind: 'webhook' })).toBeGreaterThanOrEqual(0.3);

    // Four messages, one claim, four finished attempts: at least 9 writes in at most 9 commits.
    const commits = delta('mailhook_group_commit_seconds_count');
    expect(commits).toBeGreaterThanOrEqual(1);
    expect(commits).toBe(delta('mailhook_group_commit_batch_size_count'));
    expect(delta('mailhook_group_commit_batch_size_sum')).toBe(9);
    expect(delta('mailhook_group_commit_seconds_sum')).toBeGreaterThan(0);

    // Read at scrape time from the deliveries table: the 500 is pending, due in ~30 s.
    expect(after.value('mailhook_queue_depth', { kind: 'webhook' })).toBe(1);
    expect(after.value('mailhook_queue_due', { kind: 'webhook' })).toBe(0);
    expect(after.value('mailhook_queue_oldest_due_age_seconds', { kind: 'webhook' })).toBe(0);
    expect(after.value('mailhook_blob_store_errors_total', { op: 'put' })).toBe(0);
    // prom-client's default metrics, event-loop lag among them.
    expect(after.types.get('nodejs_eventloop_lag_seconds')).toBe('gauge');
    expect(after.types.get('process_resident_memory_bytes')).toBe('gauge');
  });

  it('counts RCPT TO replies by code and reason (DESIGN §11: replies by code)', async () => {
    const { user, domain } = await seedUserAndDomain(deps, 'rcpt.test');
    const owner = { userId: user.id, domainId: domain.id };
    await addRoute(deps, owner, { match: 'nope@rcpt.test', action: 'reject', priority: 1, stop: true });
    await addRoute(deps, owner, { match: 'yes@rcpt.test', action: 'store', priority: 2 });
    const before = await scrape();
    const info = await smtp.transport.sendMail({
      envelope: { from: 'a@sender.test', to: ['yes@rcpt.test', 'x@unknown-domain.test', 'other@rcpt.test', 'nope@rcpt.test'] },
      raw: `From: a@sender.test${CRLF}Subject: rcpt${CRLF}${CRLF}hi${CRLF}`,
    });
    expect(info.accepted).toEqual(['yes@rcpt.test']);
    const after = await scrape();
    const delta = (labels: Record<string, string>) => after.value('mailhook_smtp_recipients_total', labels) - before.value('mailhook_smtp_recipients_total', labels);
    expect(delta({ code: '250', reason: 'accepted' })).toBe(1);
    expect(delta({ code: '550', reason: 'unknown_domain' })).toBe(1);
    expect(delta({ code: '550', reason: 'no_route' })).toBe(1);
    expect(delta({ code: '550', reason: 'rejected_by_route' })).toBe(1);
    expect(after.types.get('mailhook_smtp_recipients_total')).toBe('counter');
  });

  it('counts blob store failures, but not a missing object', async () => {
    const before = await scrape();
    await expect(deps.blobs.get('msg/msg_missing/raw.eml')).rejects.toThrow();
    await expect(deps.blobs.put('not a valid key', Buffer.from('x'))).rejects.toThrow();
    const after = await scrape();
    expect(after.value('mailhook_blob_store_errors_total', { op: 'get' }) - before.value('mailhook_blob_store_errors_total', { op: 'get' })).toBe(0);
    expect(after.value('mailhook_blob_store_errors_total', { op: 'put' }) - before.value('mailhook_blob_store_errors_total', { op: 'put' })).toBe(1);
  });

  it('is 404 without the token to a request with no socket, even one claiming to be forwarded from loopback', async () => {
    const cases: Record<string, string>[] = [{}, { 'x-forwarded-for': '127.0.0.1', 'fly-client-ip': '127.0.0.1' }, { authorization: 'Bearer wrong-token-0123456789' }];
    for (const headers of cases) {
      const res = await app.request('/metrics', { headers });
      expect(res.status).toBe(404);
      expect(await res.json()).toEqual({ error: 'not found' });
    }
  });

  it('answers a loopback peer without the token', async () => {
    const s = await listen(app, '127.0.0.1');
    servers.push(s);
    const res = await fetch(`http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`);
    expect(res.status).toBe(200);
    parsePromText(await res.text());
  });

  it('is 404 to a non-loopback peer without the token, 200 with it', async () => {
    // The peer as @hono/node-server hands it to the app (c.env.incoming.socket). Tests send traffic
    // to loopback only, so a non-loopback peer is given to the app rather than made on the network.
    const from = (remoteAddress: string, headers: Record<string, string> = {}) =>
      app.request('/metrics', { headers }, { incoming: { socket: { remoteAddress, remoteFamily: 'IPv4', remotePort: 40000 } } });
    expect((await from('203.0.113.9')).status).toBe(404);
    expect((await from('203.0.113.9', { 'x-forwarded-for': '127.0.0.1' })).status).toBe(404);
    expect((await from('203.0.113.9', { authorization: 'Bearer wrong-token-0123456789' })).status).toBe(404);
    expect((await from('203.0.113.9', { authorization: `Bearer ${TOKEN}` })).status).toBe(200);
    expect((await from('127.0.0.1')).status).toBe(200);
  });
});

describe('metricsAllowed', () => {
  const base = { authorization: undefined, token: null, privateListener: false };
  it('lets loopback in, in any spelling, and nothing else without a token', () => {
    for (const peer of ['127.0.0.1', '127.3.4.5', '::1', '::ffff:127.0.0.1']) expect(metricsAllowed({ ...base, peer }), peer).toBe(true);
    for (const peer of [undefined, '10.0.0.1', '192.168.1.2', 'fdaa:0:1::3', '8.8.8.8', '2001:4860::1', 'garbage']) {
      expect(metricsAllowed({ ...base, peer }), String(peer)).toBe(false);
    }
  });

  it('on the private listener, also lets private-network peers in (Fly 6PN), never public ones', () => {
    const p = { ...base, privateListener: true };
    for (const peer of ['10.0.0.1', '172.16.5.5', '192.168.1.2', 'fdaa:0:1::3', '::ffff:10.1.2.3', '100.64.0.9']) {
      expect(metricsAllowed({ ...p, peer }), peer).toBe(true);
    }
    for (const peer of ['8.8.8.8', '2001:4860::1', '169.254.169.254', 'fe80::1']) expect(metricsAllowed({ ...p, peer }), peer).toBe(false);
  });

  it('lets anyone with the exact bearer token in, when one is set', () => {
    const t = { ...base, token: TOKEN, peer: '8.8.8.8' };
    expect(metricsAllowed({ ...t, authorization: `Bearer ${TOKEN}` })).toBe(true);
    expect(metricsAllowed({ ...t, authorization: `bearer ${TOKEN}` })).toBe(true);
    expect(metricsAllowed({ ...t, authorization: `Bearer ${TOKEN}x` })).toBe(false);
    expect(metricsAllowed({ ...t, authorization: TOKEN })).toBe(false);
    expect(metricsAllowed({ ...t, authorization: undefined })).toBe(false);
    expect(metricsAllowed({ ...t, token: null, authorization: `Bearer ${TOKEN}` })).toBe(false);
  });
});
