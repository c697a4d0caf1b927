import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { createDeliveryWorker } from '../../src/deliver/worker.js';
import { startDnsServer, type TestDnsServer } from '../helpers/dns-server.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { testApi, type TestApi } from '../helpers/api.js';

let dns: TestDnsServer;
let receiver: WebhookReceiver;
let api: TestApi;
let smtp: RunningSmtp;
beforeAll(async () => {
  dns = await startDnsServer();
  receiver = await startWebhookReceiver();
  api = testApi({ DNS_SERVERS: dns.address });
  smtp = await startSmtp(api.deps);
});
afterAll(async () => {
  await smtp.close();
  await Promise.all([dns.close(), receiver.close()]);
  await api.deps.cleanup();
});

describe('walkthrough over HTTP only (plus SMTP for the mail itself)', () => {
  it('signup → domain → verify → route → SMTP message → messages → delivery log → retry → attachment link', async () => {
    const signup = await api.call('POST', '/api/auth/signup', { body: { email: 'owner@walk.test', password: 'a long passphrase' } });
    expect(signup.status).toBe(201);
    const token = signup.body.token as string;

    const domain = await api.call('POST', '/api/domains', { token, body: { name: 'walk.test' } });
    expect(domain.status).toBe(201);
    dns.set(domain.body.records.map((r: { type: 'MX' | 'TXT'; name: string; value: string }) => ({ type: r.type, name: r.name, value: r.value })));
    const verified = await api.call('POST', `/api/domains/${domain.body.id}/verify`, { token });
    expect(verified.body.status).toBe('verified');

    const route = await api.call('POST', '/api/routes', {
      token,
      body: { domain_id: domain.body.id, match: 'orders+*@walk.test', action: 'webhook', destination: `${receiver.url}/orders` },
    });
    expect(route.status).toBe(201);

    await expect(
      smtp.transport.sendMail({ from: 'shop@sender.test', to: 'nobody@walk.test', subject: 'x', text: 'x' }),
    ).rejects.toMatchObject({ responseCode: 550 });
    const sent = await smtp.transport.sendMail({
      from: 'Shop <shop@sender.test>',
      to: 'orders+42@walk.test',
      subject: 'Order 42',
      text: 'Thanks for your order.',
      attachments: [{ filename: 'invoice.txt', content: 'INVOICE 42' }],
    });
    expect(sent.accepted).toEqual(['orders+42@walk.test']);

    const list = await api.call('GET', '/api/messages?recipient=orders%2B42@walk.test', { token });
    expect(list.body.data).toHaveLength(1);
    const messageId = list.body.data[0].id as string;
    expect(list.body.data[0]).toMatchObject({ subject: 'Order 42', attachment_count: 1 });

    const worker = createDeliveryWorker(api.deps);
    receiver.next({ status: 503, body: 'busy' });
    await worker.runOnce();
    const first = await api.call('GET', `/api/deliveries?message_id=${messageId}`, { token });
    expect(first.body.data).toEqual([expect.objectContaining({ route_id: route.body.id, status: 'pending', last_status: 503, attempt_count: 1 })]);
    const deliveryId = first.body.data[0].id as string;

    const retry = await api.call('POST', `/api/deliveries/${deliveryId}/retry`, { token });
    expect(retry.status).toBe(202);
    receiver.next({ status: 200, body: 'ok' });
    await worker.runOnce();
    const log = await api.call('GET', `/api/deliveries/${deliveryId}`, { token });
    expect(log.body).toMatchObject({ status: 'delivered', attempt_count: 2 });
    expect(log.body.attempts.map((a: { status_code: number }) => a.status_code)).toEqual([503, 200]);

    // Both attempts carried the same webhook-id and a valid signature.
    const hooks = receiver.requests.slice(-2);
    expect(hooks.map((h) => h.headers['webhook-id'])).toEqual([deliveryId, deliveryId]);
    const event = new Webhook(route.body.secret).verify(hooks[1]!.body, {
      'webhook-id': String(hooks[1]!.headers['webhook-id']),
      'webhook-timestamp': String(hooks[1]!.headers['webhook-timestamp']),
      'webhook-signature': String(hooks[1]!.headers['webhook-signature']),
    }) as { data: { id: string; attachments: { url: string }[] } };
    expect(event.data.id).toBe(messageId);

    const message = await api.call('GET', `/api/messages/${messageId}`, { token });
    expect(message.body.deliveries[0].attempts).toHaveLength(2);
    const link = new URL(message.body.attachments[0].url);
    const att = await api.app.request(link.pathname + link.search);
    expect(att.status).toBe(200);
    expect(await att.text()).toBe('INVOICE 42');
  });
});
