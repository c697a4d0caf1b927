import { createHmac, randomBytes } from 'node:crypto';
import type { Hono } from 'hono';
import MailComposer from 'nodemailer/lib/mail-composer/index.js';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { Route } from '../../src/db/routes.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type ReceivedRequest, type WebhookReceiver } from '../helpers/webhook-receiver.js';

/** Standard Webhooks over a body that is not JSON: the public verifier, without its JSON.parse. */
function signedByLibrary(secret: string, req: ReceivedRequest): boolean {
  new Webhook(secret).verify(req.raw, req.headers as Record<string, string>, { jsonParse: false });
  return true;
}

/** The API on the test's own deps (so SMTP and the API share one database). */
function testApiOn(deps: TestDeps) {
  const app: Hono = createApp(deps);
  return {
    async call(method: string, path: string, o: { token?: string; body?: unknown } = {}) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      const res = await app.request(path, { method, headers, body: o.body === undefined ? undefined : JSON.stringify(o.body) });
      const text = await res.text();
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      return { status: res.status, body: (text ? JSON.parse(text) : null) as any };
    },
  };
}

async function signupOn(api: ReturnType<typeof testApiOn>) {
  const res = await api.call('POST', '/api/auth/signup', { body: { email: `u${randomBytes(4).toString('hex')}@example.org`, password: 'correct horse battery' } });
  return { token: res.body.token as string };
}

/** The receiver's view: standardwebhooks verifies the bytes it got, then JSON. */
function verified(route: Route, req: ReceivedRequest): { data: Record<string, unknown> } {
  const headers = req.headers as Record<string, string>;
  return new Webhook(route.secret!).verify(req.body, headers) as { data: Record<string, unknown> };
}

describe('webhook payload: data.reply', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  let route: Route;

  beforeEach(async () => {
    deps = testDeps();
    receiver = await startWebhookReceiver();
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    route = await addRoute(deps, { userId: user.id, domainId: domain.id }, {
      action: 'webhook',
      destination: receiver.url,
      secret: newWebhookSecret(),
    });
    worker = createDeliveryWorker(deps);
    worker.start();
    smtp = await startSmtp(deps, { onStored: worker.kick });
  });

  afterEach(async () => {
    await smtp.close();
    await worker.stop();
    await receiver.close();
    await deps.cleanup();
  });

  it('carries the new text, the signature and the quote of a reply sent over SMTP', async () => {
    await smtp.transport.sendMail({
      from: 'bob@sender.test',
      to: 'support@example.com',
      subject: 'Re: invoice',
      text: 'Paid it this morning.\n\n-- \nBob Stone\n\nOn Mon, Nov 24, 2025 at 10:15 AM Ada <ada@example.com> wrote:\n\n> Please pay invoice 7.\n',
    });
    const [req] = await receiver.waitFor(1, 15_000);
    const event = verified(route, req!);
    expect(event.data.reply).toEqual({
      text: 'Paid it this morning.',
      signature: 'Bob Stone',
      quoted: 'On Mon, Nov 24, 2025 at 10:15 AM Ada <ada@example.com> wrote:\n\n> Please pay invoice 7.',
    });
    expect(event.data.text).toContain('Please pay invoice 7.');
  });
});

describe('webhook payload modes', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  let owner: { userId: string; domainId: string };

  beforeEach(async () => {
    deps = testDeps({ INLINE_ATTACHMENT_BYTES: '100000' });
    receiver = await startWebhookReceiver();
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    owner = { userId: user.id, domainId: domain.id };
    worker = createDeliveryWorker(deps);
    worker.start();
    smtp = await startSmtp(deps, { onStored: worker.kick });
  });

  afterEach(async () => {
    await smtp.close();
    await worker.stop();
    await receiver.close();
    await deps.cleanup();
  });

  const fetchLink = async (url: string) => {
    const u = new URL(url);
    const res = await createApp(deps).request(u.pathname + u.search);
    expect(res.status).toBe(200);
    return Buffer.from(await res.arrayBuffer());
  };

  it('json+attachments: attachments inline as base64 while the total fits INLINE_ATTACHMENT_BYTES, equal to the link bytes', async () => {
    const route = await addRoute(deps, owner, { action: 'webhook', destination: receiver.url, secret: newWebhookSecret(), payload: 'json+attachments' });
    const small = randomBytes(30_000);
    const big = randomBytes(200_000);
    const second = randomBytes(50_000);
    await smtp.transport.sendMail({
      from: 'a@sender.test',
      to: 'support@example.com',
      text: 'files',
      attachments: [
        { filename: 'small.bin', content: small },
        { filename: 'big.bin', content: big },
        { filename: 'second.bin', content: second },
      ],
    });
    const [req] = await receiver.waitFor(1, 15_000);
    expect(req!.headers['content-type']).toBe('application/json');
    const event = verified(route, req!) as { data: { attachments: { filename: string; url: string; content?: string }[] } };
    const [a0, a1, a2] = event.data.attachments;
    expect(Buffer.from(a0!.content!, 'base64').equals(small)).toBe(true);
    expect(a1!.content).toBeUndefined(); // 200 kB alone is over the 100 kB budget: link only
    expect(Buffer.from(a2!.content!, 'base64').equals(second)).toBe(true);
    expect((await fetchLink(a0!.url)).equals(Buffer.from(a0!.content!, 'base64'))).toBe(true);
    expect((await fetchLink(a2!.url)).equals(Buffer.from(a2!.content!, 'base64'))).toBe(true);
    expect((await fetchLink(a1!.url)).equals(big)).toBe(true);
  });

  it('json (the default) carries no attachment content', async () => {
    const route = await addRoute(deps, owner, { action: 'webhook', destination: receiver.url, secret: newWebhookSecret() });
    await smtp.transport.sendMail({ from: 'a@sender.test', to: 'x@example.com', text: 'f', attachments: [{ filename: 'a.txt', content: 'abc' }] });
    const [req] = await receiver.waitFor(1, 15_000);
    const event = verified(route, req!) as { data: { attachments: { content?: string }[] } };
    expect(event.data.attachments).toHaveLength(1);
    expect(event.data.attachments[0]!.content).toBeUndefined();
  });

  it('raw: the message itself as message/rfc822, byte for byte what was sent over SMTP, signed, with x-mailhook-* metadata', async () => {
    const route = await addRoute(deps, owner, { action: 'webhook', destination: receiver.url, secret: newWebhookSecret(), payload: 'raw' });
    const sent = await new MailComposer({
      from: 'Zoë <zoe@sender.test>',
      to: 'support@example.com',
      subject: 'Raw – ünïcode',
      // CRLF already: nodemailer's SMTP client would turn a bare LF into CRLF on the wire.
      text: 'line one\r\n.line starting with a dot (dot-stuffed on the wire)\r\nlast',
      attachments: [{ filename: 'x.bin', content: randomBytes(5000) }],
    })
      .compile()
      .build();
    const info = await smtp.transport.sendMail({ envelope: { from: 'bounce@sender.test', to: ['support@example.com'] }, raw: sent });
    const msgId = /msg_\w+/.exec(info.response ?? '')![0];
    const [req] = await receiver.waitFor(1, 15_000);
    expect(req!.headers['content-type']).toBe('message/rfc822');
    expect(req!.raw.equals(sent)).toBe(true);
    // The public verifier over the exact bytes; the simple scheme too.
    expect(signedByLibrary(route.secret!, req!)).toBe(true);
    expect(req!.headers['x-mailhook-signature']).toBe(`sha256=${createHmac('sha256', route.secret!).update(req!.raw).digest('hex')}`);
    expect(req!.headers).toMatchObject({
      'x-mailhook-event': 'email.received',
      'x-mailhook-message-id': msgId,
      'x-mailhook-domain': 'example.com',
      'x-mailhook-route-id': route.id,
      'x-mailhook-mail-from': 'bounce@sender.test',
      'x-mailhook-rcpt-to': 'support@example.com',
      'x-mailhook-remote-ip': '127.0.0.1',
      'x-mailhook-size': String(sent.length),
    });
    expect((await fetchLink(req!.headers['x-mailhook-raw-url'] as string)).equals(sent)).toBe(true);
  });

  it('raw: a message with 8-bit bytes that are not UTF-8 verifies with standardwebhooks handed the body as a Buffer (≥ 1.3.0 signs bytes; README)', async () => {
    const route = await addRoute(deps, owner, { action: 'webhook', destination: receiver.url, secret: newWebhookSecret(), payload: 'raw' });
    const sent = Buffer.concat([
      Buffer.from('From: a@sender.test\r\nTo: support@example.com\r\nSubject: latin-1\r\nMIME-Version: 1.0\r\n'),
      Buffer.from('Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'),
      Buffer.from('caf\xe9 cr\xe8me br\xfbl\xe9e\r\n', 'latin1'),
    ]);
    await smtp.transport.sendMail({ envelope: { from: 'a@sender.test', to: ['support@example.com'] }, raw: sent });
    const [req] = await receiver.waitFor(1, 15_000);
    expect(req!.raw.equals(sent)).toBe(true);
    // Not valid UTF-8: standardwebhooks 1.1 decoded a Buffer as UTF-8 (U+FFFD) before the HMAC and threw here.
    expect(req!.raw.toString('utf8')).toContain('\ufffd');
    expect(signedByLibrary(route.secret!, req!)).toBe(true);
    // A string is verified as its UTF-8 encoding: the decoded body does not match the signature.
    expect(() => new Webhook(route.secret!).verify(req!.body, req!.headers as Record<string, string>, { jsonParse: false })).toThrow(/signature/);
  });

  it('the catch-all webhook takes a payload mode over the API (PUT /api/domains/:id/webhook)', async () => {
    const api = testApiOn(deps);
    const { token } = await signupOn(api);
    const dom = await api.call('POST', '/api/domains', { token, body: { name: 'catch.test' } });
    await deps.repos.domains.setStatus(dom.body.id, 'verified', deps.now(), null);
    const put = await api.call('PUT', `/api/domains/${dom.body.id}/webhook`, { token, body: { url: receiver.url, payload: 'raw' } });
    expect(put.status).toBe(200);
    expect(put.body).toMatchObject({ url: receiver.url, payload: 'raw' });
    expect((await api.call('GET', `/api/domains/${dom.body.id}`, { token })).body.webhook.payload).toBe('raw');
    // Changing the URL alone keeps the mode.
    const again = await api.call('PUT', `/api/domains/${dom.body.id}/webhook`, { token, body: { url: receiver.url + '/v2' } });
    expect(again.body.payload).toBe('raw');
    const bad = await api.call('PUT', `/api/domains/${dom.body.id}/webhook`, { token, body: { url: receiver.url, payload: 'xml' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/payload/);

    await smtp.transport.sendMail({ envelope: { from: 'a@sender.test', to: ['anyone@catch.test'] }, raw: 'Subject: hi\r\n\r\nraw catch-all\r\n' });
    const [req] = await receiver.waitFor(1, 15_000);
    expect(req!.url).toBe('/v2');
    expect(req!.headers['content-type']).toBe('message/rfc822');
    expect(req!.body).toBe('Subject: hi\r\n\r\nraw catch-all\r\n');
    expect(req!.headers['x-mailhook-route-id']).toBe('');
    expect(signedByLibrary(put.body.secret, req!)).toBe(true);
  });
});

describe('routes API: payload', () => {
  it('is json by default, settable on webhook routes, refused on others, and kept across edits', async () => {
    const deps = testDeps();
    try {
      const api = testApiOn(deps);
      const { token } = await signupOn(api);
      const dom = await api.call('POST', '/api/domains', { token, body: { name: 'example.com' } });
      const base = { domain_id: dom.body.id, match: '*@example.com', action: 'webhook', destination: 'http://127.0.0.1:9/h' };
      expect((await api.call('POST', '/api/routes', { token, body: base })).body.payload).toBe('json');
      const raw = await api.call('POST', '/api/routes', { token, body: { ...base, match: 'a@example.com', payload: 'raw' } });
      expect(raw.status).toBe(201);
      expect(raw.body.payload).toBe('raw');
      const edited = await api.call('PATCH', `/api/routes/${raw.body.id}`, { token, body: { priority: 5 } });
      expect(edited.body.payload).toBe('raw');
      const stored = await api.call('POST', '/api/routes', { token, body: { domain_id: dom.body.id, match: 'b@example.com', action: 'store', payload: 'raw' } });
      expect(stored.status).toBe(400);
      expect(stored.body.error).toMatch(/^payload: only webhook routes/);
      const bad = await api.call('POST', '/api/routes', { token, body: { ...base, match: 'c@example.com', payload: 'mime' } });
      expect(bad.status).toBe(400);
    } finally {
      await deps.cleanup();
    }
  });
});
