import { createHash, createHmac, randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { Route } from '../../src/db/routes.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { LINK_LIFETIME_MS } from '../../src/store/signed-links.js';
import { addRoute, fakeClock, seedUserAndDomain, testDeps, type FakeClock, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

interface Payload {
  type: string;
  timestamp: number;
  data: {
    id: string;
    domain: string;
    route_id: string | null;
    envelope: { mail_from: string; rcpt_to: string[]; helo: string; remote_ip: string; tls: boolean };
    from: { address: string; name: string };
    to: { address: string; name: string }[];
    subject: string;
    text: string;
    html: string;
    headers: { name: string; value: string }[];
    attachments: { index: number; filename: string; content_type: string; size: number; sha256: string; url: string }[];
    raw_url: string;
    size: number;
    received_at: number;
  };
}

describe('end to end: SMTP in, signed webhook out', () => {
  let clock: FakeClock;
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  let route: Route;

  beforeEach(async () => {
    clock = fakeClock(Date.now());
    deps = testDeps({}, { now: clock.now });
    receiver = await startWebhookReceiver();
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    route = await addRoute(deps, { userId: user.id, domainId: domain.id }, {
      match: 'support@example.com',
      action: 'webhook',
      destination: receiver.url,
      secret: newWebhookSecret(),
      priority: 10,
      stop: true,
    });
    worker = createDeliveryWorker(deps);
    worker.start();
    smtp = await startSmtp(deps, { onStored: worker.kick });
  });

  afterEach(async () => {
    await smtp.close();
    await worker.stop();
    await receiver.close();
    deps.cleanup();
  });

  it('delivers a signed, parsed webhook whose links return the exact bytes', async () => {
    const pdf = randomBytes(300_000);
    const note = Buffer.from('plain text attachment\n');
    const info = await smtp.transport.sendMail({
      from: '"Ada Lovelace" <ada@sender.test>',
      to: 'support@example.com',
      subject: 'Order #1234 — received',
      text: 'Hello from the test',
      html: '<p>Hello <b>from</b> the test</p>',
      attachments: [
        { filename: 'report.pdf', content: pdf, contentType: 'application/pdf' },
        { filename: 'note.txt', content: note, contentType: 'text/plain' },
      ],
    });
    const msgId = /msg_\w+/.exec(info.response ?? '')![0];

    const [req] = await receiver.waitFor(1, 10_000);
    // Standard Webhooks, verified by the public library.
    const wh = new Webhook(route.secret!);
    const verified = wh.verify(req!.body, req!.headers as Record<string, string>) as Payload;
    expect(req!.headers['content-type']).toBe('application/json');
    expect(req!.headers['webhook-id']).toMatch(/^dlv_/);
    // The simple scheme: hex HMAC-SHA256 of the body, keyed with the secret string.
    const simple = createHmac('sha256', route.secret!).update(req!.body).digest('hex');
    expect(req!.headers['x-mailhook-signature']).toBe(`sha256=${simple}`);

    const p = verified;
    expect(p.type).toBe('email.received');
    expect(p.data).toMatchObject({
      id: msgId,
      domain: 'example.com',
      route_id: route.id,
      envelope: { mail_from: 'ada@sender.test', rcpt_to: ['support@example.com'], remote_ip: '127.0.0.1', tls: false },
      from: { address: 'ada@sender.test', name: 'Ada Lovelace' },
      to: [{ address: 'support@example.com', name: '' }],
      subject: 'Order #1234 — received',
      received_at: clock.now(),
    });
    expect(p.data.text.trim()).toBe('Hello from the test');
    expect(p.data.html).toContain('<b>from</b>');
    expect(p.data.headers.find((h) => h.name.toLowerCase() === 'subject')).toBeDefined();
    expect(p.data.attachments.map((a) => [a.index, a.filename, a.content_type, a.size, a.sha256])).toEqual([
      [0, 'report.pdf', 'application/pdf', pdf.length, sha256(pdf)],
      [1, 'note.txt', 'text/plain', note.length, sha256(note)],
    ]);

    const app = createApp(deps);
    const fetchLink = (url: string) => {
      const u = new URL(url);
      expect(u.origin).toBe(deps.config.publicUrl);
      return app.request(u.pathname + u.search);
    };
    for (const [i, want] of [pdf, note].entries()) {
      const res = await fetchLink(p.data.attachments[i]!.url);
      expect(res.status).toBe(200);
      expect(sha256(Buffer.from(await res.arrayBuffer()))).toBe(sha256(want));
    }
    const raw = await fetchLink(p.data.raw_url);
    expect(raw.status).toBe(200);
    const rawBytes = Buffer.from(await raw.arrayBuffer());
    expect(rawBytes.length).toBe(p.data.size);
    expect(rawBytes.toString()).toContain('Subject: =?UTF-8?Q?Order_=231234');

    // A changed signature is 403; the same link after 7 days is 410.
    const link = p.data.attachments[0]!.url;
    const tampered = link.replace(/sig=([^&])/, (_, c: string) => `sig=${c === 'x' ? 'y' : 'x'}`);
    expect((await fetchLink(tampered)).status).toBe(403);
    clock.advance(LINK_LIFETIME_MS);
    expect((await fetchLink(link)).status).toBe(410);
  });

  it('falls back to the domain catch-all when no route matches, and records the attempt', async () => {
    const secret = newWebhookSecret();
    await deps.repos.domains.setWebhook(route.domainId, receiver.url, secret);
    const info = await smtp.transport.sendMail({ from: 'a@sender.test', to: 'sales@example.com', text: 'hi' });
    const msgId = /msg_\w+/.exec(info.response ?? '')![0];
    const [req] = await receiver.waitFor(1, 10_000);
    const p = new Webhook(secret).verify(req!.body, req!.headers as Record<string, string>) as Payload;
    expect(p.data).toMatchObject({ id: msgId, route_id: null });
    await worker.runOnce();
    const [delivery] = await deps.repos.deliveries.forMessage(msgId);
    expect(delivery).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200, id: req!.headers['webhook-id'] });
  });
});
