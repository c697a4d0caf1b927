import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { closeTransfers } from '../../src/send/transfer.js';
import { createOutboundWorker } from '../../src/send/outbound-worker.js';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { dsn } from '../helpers/bounces.js';
import { fakeClock } from '../helpers/deps.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startMxServer, type MxServer } from '../helpers/mx-server.js';
import { parsePromText } from '../helpers/prom-text.js';
import { sendingDomain } from '../helpers/sending.js';
import { startSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/**
 * DESIGN §11: /metrics has queue depth and oldest due age per kind, attempts by outcome and sends
 * by status. The outbound queue (issue 12) is a queue like the webhooks': its backlog, its attempts
 * and what they made of each recipient are scraped like theirs, and so are the events about sends.
 */
const TOKEN = 'send-metrics-token-0123456789';

let dns: TestDnsServer;
let mx: MxServer;
let hooks: WebhookReceiver;
let api: TestApi;
beforeAll(async () => {
  [dns, mx, hooks] = await Promise.all([startDnsServer(), startMxServer(), startWebhookReceiver()]);
});
afterAll(async () => {
  await Promise.all([dns.close(), mx.close(), hooks.close()]);
});
afterEach(async () => {
  closeTransfers();
  await api?.deps.cleanup();
});

describe('metrics of the outbound queue', () => {
  it('queue depth and due per kind (send, send_event), attempts by outcome, recipients by status, SMTP transaction durations', { timeout: 30_000 }, async () => {
    const clock = fakeClock(Date.now());
    api = testApi({ DNS_SERVERS: dns.address, OUTBOUND_SMTP_PORT: String(mx.port), METRICS_TOKEN: TOKEN }, { now: clock.now });
    const { token } = await signup(api);
    const domain = await sendingDomain(api, token, 'example.com');
    await api.call('PUT', `/api/domains/${domain.id}/webhook`, { token, body: { url: hooks.url } });
    dns.set([
      domain.dkimRecord,
      { name: 'dest.test', type: 'MX', value: 'mx.dest.test' },
      { name: 'mx.dest.test', type: 'A', value: '127.0.0.1' },
    ]);
    mx.onRcpt = (a) => (a.startsWith('grey@') ? { code: 451, message: '4.7.1 try later' } : a.startsWith('gone@') ? { code: 550, message: '5.1.1 no such user' } : undefined);
    const scrape = async () => {
      const res = await api.app.request('/metrics', { headers: { authorization: `Bearer ${TOKEN}` } });
      expect(res.status).toBe(200);
      return parsePromText(await res.text());
    };

    const res = await api.call('POST', '/v1/send', { token, body: { from: 'me@example.com', to: ['ok@dest.test', 'grey@dest.test', 'gone@dest.test'], subject: 'Hi', text: 'hello' } });
    expect(res.status).toBe(202);
    const queued = await scrape();
    for (const name of ['mailhook_queue_depth', 'mailhook_queue_due']) expect(queued.value(name, { kind: 'send' })).toBe(3);
    expect(queued.samples.filter((s) => s.name === 'mailhook_queue_depth').map((s) => s.labels.kind).sort()).toEqual(['send', 'send_event', 'webhook']);
    clock.advance(5_000);
    expect((await scrape()).value('mailhook_queue_oldest_due_age_seconds', { kind: 'send' })).toBe(5);

    const worker = createOutboundWorker(api.deps, { random: () => 0.5 });
    await worker.runOnce(); // the three transactions, and the three events they produce posted
    await worker.runOnce();
    expect(hooks.requests.map((r) => JSON.parse(r.body.toString()).type).sort()).toEqual(['email.bounced', 'email.delivery_delayed', 'email.sent']);
    const m = await scrape();
    expect(m.value('mailhook_attempts_total', { kind: 'send', outcome: 'delivered' })).toBe(1);
    expect(m.value('mailhook_attempts_total', { kind: 'send', outcome: 'retry' })).toBe(1);
    expect(m.value('mailhook_attempts_total', { kind: 'send', outcome: 'failed' })).toBe(1);
    expect(m.value('mailhook_attempt_duration_seconds_count', { kind: 'send' })).toBe(3);
    expect(m.value('mailhook_send_recipients_total', { status: 'sent' })).toBe(1);
    expect(m.value('mailhook_send_recipients_total', { status: 'deferred' })).toBe(1);
    expect(m.value('mailhook_send_recipients_total', { status: 'bounced' })).toBe(1);
    expect(m.value('mailhook_attempts_total', { kind: 'send_event', outcome: 'delivered' })).toBe(3);
    expect(m.value('mailhook_attempt_duration_seconds_count', { kind: 'send_event' })).toBe(3);
    // The deferred recipient waits for its retry; the events are all delivered.
    expect(m.value('mailhook_queue_depth', { kind: 'send' })).toBe(1);
    expect(m.value('mailhook_queue_due', { kind: 'send' })).toBe(0);
    expect(m.value('mailhook_queue_oldest_due_age_seconds', { kind: 'send' })).toBe(0);
    expect(m.value('mailhook_queue_depth', { kind: 'send_event' })).toBe(0);

    // A DSN arriving later for the recipient that got a 250.
    const bounceTo = mx.mails[0]!.mailFrom;
    const smtp = await startSmtp(api.deps);
    try {
      await smtp.transport.sendMail({ envelope: { from: '', to: [bounceTo] }, raw: dsn(bounceTo, 'ok@dest.test') });
    } finally {
      await smtp.close();
    }
    const after = await scrape();
    expect(after.value('mailhook_send_recipients_total', { status: 'bounced' })).toBe(2);
    // Its email.bounced event is queued for the domain's webhook.
    expect(after.value('mailhook_queue_depth', { kind: 'send_event' })).toBe(1);
    await worker.stop();
  });
});
