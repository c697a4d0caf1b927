import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { Route } from '../../src/db/routes.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { spamCheck } from '../../src/inbound/spam-check.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { GTUBE, startRspamd, type RunningRspamd } from '../helpers/rspamd.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

interface SpamEvent {
  data: { id: string; spam?: { status: string; score?: number; required?: number; action?: string; symbols?: { name: string; score: number }[] } };
}

let rspamd: RunningRspamd;
beforeAll(async () => {
  rspamd = await startRspamd();
}, 120_000);
afterAll(async () => {
  await rspamd?.stop();
});

describe('SPAM_FILTER=rspamd (the real Debian rspamd)', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  let route: Route;
  let owner: { userId: string; domainId: string };

  async function setUp(env: Record<string, string>) {
    deps = testDeps({ SPAM_FILTER: 'rspamd', ...env });
    receiver = await startWebhookReceiver();
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    owner = { userId: user.id, domainId: domain.id };
    route = await addRoute(deps, owner, { action: 'webhook', destination: receiver.url, secret: newWebhookSecret(), priority: 100 });
    worker = createDeliveryWorker(deps);
    worker.start();
    smtp = await startSmtp(deps, { onStored: worker.kick, checkSpam: spamCheck(deps) });
  }

  afterEach(async () => {
    await smtp?.close();
    await worker?.stop();
    await receiver?.close();
    deps?.cleanup();
  });

  const send = (text: string, subject = 'hello') => smtp.transport.sendMail({ from: 'a@sender.test', to: 'support@example.com', subject, text });
  const event = async (n = 1) => {
    const reqs = await receiver.waitFor(n, 20_000);
    const req = reqs[n - 1]!;
    return new Webhook(route.secret!).verify(req.body, req.headers as Record<string, string>) as SpamEvent;
  };
  const storedCount = () => (deps.db.prepare('SELECT count(*) AS n FROM messages').get() as { n: number }).n;

  it('GTUBE: action reject with a score at the reject threshold, in the signed webhook', async () => {
    await setUp({ RSPAMD_URL: rspamd.url });
    await send(`Buy now\r\n${GTUBE}\r\n`);
    const { data } = await event();
    expect(data.spam).toMatchObject({ status: 'checked', action: 'reject' });
    expect(data.spam!.score).toBeGreaterThanOrEqual(data.spam!.required!);
    expect(data.spam!.score).toBeGreaterThanOrEqual(15);
    expect(data.spam!.symbols!.map((s) => s.name)).toContain('GTUBE');
  });

  it('a clean message is not spam', async () => {
    await setUp({ RSPAMD_URL: rspamd.url });
    await send('See you at noon for lunch.\r\n', 'lunch');
    const { data } = await event();
    expect(data.spam).toMatchObject({ status: 'checked', action: 'no action', required: 15 });
    expect(data.spam!.score).toBeLessThan(data.spam!.required!);
  });

  it('rspamd stopped: the message is still accepted and delivered, spam unchecked', async () => {
    const gone = await startRspamd();
    await gone.stop();
    await setUp({ RSPAMD_URL: gone.url });
    const info = await send(`${GTUBE}\r\n`);
    expect(info.response).toMatch(/^250 .*queued as msg_/);
    const { data } = await event();
    expect(data.spam).toEqual({ status: 'unchecked' });
  });

  it('a filter that never answers delays the 250 by SPAM_TIMEOUT_MS at most, then unchecked', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const silent: Server = createServer((s) => void sockets.add(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      await setUp({ RSPAMD_URL: `http://127.0.0.1:${(silent.address() as AddressInfo).port}`, SPAM_TIMEOUT_MS: '500' });
      const t0 = Date.now();
      const info = await send('hello\r\n');
      expect(info.response).toMatch(/^250 /);
      expect(Date.now() - t0).toBeLessThan(10_000); // generous: the machine is shared
      const { data } = await event();
      expect(data.spam).toEqual({ status: 'unchecked' });
    } finally {
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });

  it('route filter spam: a reject route refuses spam with 550 at the end of DATA and stores nothing; clean mail flows', async () => {
    await setUp({ RSPAMD_URL: rspamd.url });
    await addRoute(deps, owner, { action: 'reject', filters: { spam: 'reject' }, priority: 1 });
    await expect(send(`${GTUBE}\r\n`)).rejects.toMatchObject({ responseCode: 550 });
    expect(storedCount()).toBe(0);
    await send('a normal message\r\n');
    const { data } = await event();
    expect(data.spam).toMatchObject({ action: 'no action' });
    expect(storedCount()).toBe(1);
  });

  it('route filter spam with a score: a drop route accepts and discards; a store route keeps without a webhook', async () => {
    await setUp({ RSPAMD_URL: rspamd.url });
    const drop = await addRoute(deps, owner, { match: 'support@example.com', action: 'drop', filters: { spam: 10 }, priority: 1, stop: true });
    expect((await send(`${GTUBE}\r\n`)).response).toMatch(/^250 /);
    expect(storedCount()).toBe(0);
    await deps.repos.routes.update({ ...drop, action: 'store' });
    expect((await send(`${GTUBE}\r\n`)).response).toMatch(/^250 .*queued as msg_/);
    expect(storedCount()).toBe(1);
    // The clean one reaches the webhook route; the spam ones never did.
    await send('ok\r\n');
    const { data } = await event();
    expect(data.spam).toMatchObject({ action: 'no action' });
    expect(receiver.requests).toHaveLength(1);
  });
});

describe('routes API: the spam filter', () => {
  it('takes "spam", "reject" or a score; reject routes take it and nothing else', async () => {
    const deps = testDeps();
    try {
      const app = createApp(deps);
      const call = async (body: unknown, token?: string) => {
        const res = await app.request('/api/routes', {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: (await res.json()) as { error?: string; filters?: unknown } };
      };
      const signup = await app.request('/api/auth/signup', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: 'spam-api@example.org', password: 'correct horse battery' }),
      });
      const { token } = (await signup.json()) as { token: string };
      const dom = await app.request('/api/domains', {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ name: 'example.com' }),
      });
      const domainId = ((await dom.json()) as { id: string }).id;
      const base = { domain_id: domainId, match: '*@example.com' };
      expect((await call({ ...base, action: 'reject', filters: { spam: 'reject' } }, token)).status).toBe(201);
      expect((await call({ ...base, action: 'drop', filters: { spam: 7.5 } }, token)).body.filters).toEqual({ spam: 7.5 });
      expect((await call({ ...base, action: 'store', filters: { spam: 'spam' } }, token)).status).toBe(201);
      const bad = await call({ ...base, action: 'store', filters: { spam: 'maybe' } }, token);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toMatch(/filters\.spam/);
      const mixed = await call({ ...base, action: 'reject', filters: { spam: 'reject', from: 'a@b.test' } }, token);
      expect(mixed.status).toBe(400);
    } finally {
      deps.cleanup();
    }
  });
});
