import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { storeMessage } from '../helpers/messages.js';
import { BlobNotFoundError } from '../../src/store/blob-store.js';
import { addDomain, markVerified, signup, testApi, type TestApi } from '../helpers/api.js';
import { startSmtp } from '../helpers/smtp.js';

let api: TestApi;
let receiver: WebhookReceiver;
beforeAll(async () => {
  receiver = await startWebhookReceiver();
});
afterAll(() => receiver.close());
afterEach(() => api?.deps.cleanup());

describe('domains', () => {
  it('adds a domain and returns the records to publish', async () => {
    api = testApi();
    const { token } = await signup(api);
    const res = await api.call('POST', '/api/domains', { token, body: { name: ' Example.COM. ' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'example.com', status: 'pending', webhook: null, verified_at: null, last_check: null });
    expect(res.body.id).toMatch(/^dom_/);
    const [mx, txt] = res.body.records;
    expect(mx).toEqual({ type: 'MX', name: 'example.com', value: 'mx.mailhook.test', priority: 10, purpose: 'mx' });
    expect(txt.type).toBe('TXT');
    expect(txt.name).toBe('_mailhook.example.com');
    expect(txt.value).toMatch(/^mailhook-verification=[A-Za-z0-9_-]{24}$/);
    const dup = await api.call('POST', '/api/domains', { token, body: { name: 'EXAMPLE.com' } });
    expect(dup.status).toBe(409);
    // Another account may claim the same name; verification decides who gets the mail.
    const other = await signup(api);
    expect((await api.call('POST', '/api/domains', { token: other.token, body: { name: 'example.com' } })).status).toBe(201);
  });

  it('stores IDN names in punycode', async () => {
    api = testApi();
    const { token } = await signup(api);
    const res = await api.call('POST', '/api/domains', { token, body: { name: 'Bücher.example' } });
    expect(res.status).toBe(201);
    expect(res.body.name).toBe('xn--bcher-kva.example');
  });

  it.each(['', 'localhost', 'exa mple.com', '-bad.com', 'a..b.com', '192.168.1.1', 'x'.repeat(64) + '.com', 'foo_bar.com'])(
    'refuses the name %j with 400',
    async (name) => {
      api = testApi();
      const { token } = await signup(api);
      const res = await api.call('POST', '/api/domains', { token, body: { name } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(/^name: /);
    },
  );

  it('lists with cursor pagination, newest first', async () => {
    api = testApi();
    const { token } = await signup(api);
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await addDomain(api, token, `d${i}.example`)).id);
    const first = await api.call('GET', '/api/domains?limit=2', { token });
    expect(first.body.data.map((d: { id: string }) => d.id)).toEqual([ids[4], ids[3]]);
    expect(first.body.next_cursor).toBe(ids[3]);
    const second = await api.call('GET', `/api/domains?limit=2&before=${first.body.next_cursor}`, { token });
    expect(second.body.data.map((d: { id: string }) => d.id)).toEqual([ids[2], ids[1]]);
    const third = await api.call('GET', `/api/domains?limit=2&before=${second.body.next_cursor}`, { token });
    expect(third.body.data.map((d: { id: string }) => d.id)).toEqual([ids[0]]);
    expect(third.body.next_cursor).toBeNull();
    for (const q of ['limit=0', 'limit=201', 'limit=abc', 'limit=1.5']) {
      const bad = await api.call('GET', `/api/domains?${q}`, { token });
      expect(bad.status, q).toBe(400);
      expect(bad.body.error).toMatch(/^limit: /);
    }
    expect((await api.call('GET', '/api/domains?limit=200', { token })).body.data).toHaveLength(5);
  });

  it('gets one domain; delete cascades to routes and messages and removes their blobs', async () => {
    api = testApi();
    const { token, user } = await signup(api);
    const d = await addDomain(api, token);
    expect((await api.call('GET', `/api/domains/${d.id}`, { token })).body).toMatchObject({ id: d.id, name: 'example.com' });
    const route = await api.call('POST', '/api/routes', { token, body: { domain_id: d.id, match: '*@example.com', action: 'store' } });
    expect(route.status).toBe(201);
    const msg = await storeMessage(api.deps, { userId: user.id, domainId: d.id }, { attachments: [{ filename: 'a.txt', content: Buffer.from('hi') }] });
    expect((await api.call('DELETE', `/api/domains/${d.id}`, { token })).status).toBe(204);
    expect((await api.call('GET', `/api/domains/${d.id}`, { token })).status).toBe(404);
    expect((await api.call('GET', `/api/routes/${route.body.id}`, { token })).status).toBe(404);
    expect((await api.call('GET', `/api/messages/${msg.id}`, { token })).status).toBe(404);
    await expect(api.deps.blobs.get(`msg/${msg.id}/raw.eml`)).rejects.toBeInstanceOf(BlobNotFoundError);
    await expect(api.deps.blobs.get(msg.attachments[0]!.blobKey)).rejects.toBeInstanceOf(BlobNotFoundError);
    expect((await api.call('DELETE', `/api/domains/${d.id}`, { token })).status).toBe(404);
  });
});

describe('deleting a domain that shares mail with another of the account', () => {
  it('keeps the shared message under the other domain, ends its own pending deliveries, deletes the rest', async () => {
    api = testApi();
    const smtp = await startSmtp(api.deps);
    try {
      const { token } = await signup(api);
      const one = await addDomain(api, token, 'one.test');
      const two = await addDomain(api, token, 'two.test');
      for (const d of [one, two]) await markVerified(api, d.id);
      // one.test's webhook is never answered (port 9): its delivery stays pending.
      await api.call('POST', '/api/routes', { token, body: { domain_id: one.id, match: '*@one.test', action: 'webhook', destination: 'http://127.0.0.1:9/hook' } });
      await api.call('POST', '/api/routes', { token, body: { domain_id: two.id, match: '*@two.test', action: 'store' } });
      await smtp.transport.sendMail({ from: 's@sender.test', to: ['a@one.test', 'b@two.test'], subject: 'shared', text: 'x', attachments: [{ filename: 'a.txt', content: 'A' }] });
      await smtp.transport.sendMail({ from: 's@sender.test', to: ['a@one.test'], subject: 'only one', text: 'y' });
      const list = (await api.call('GET', '/api/messages', { token })).body.data as { id: string; subject: string; domain_id: string }[];
      const shared = list.find((m) => m.subject === 'shared')!;
      const onlyOne = list.find((m) => m.subject === 'only one')!;
      expect(shared.domain_id).toBe(one.id);
      const [delivery] = (await api.call('GET', `/api/deliveries?message_id=${shared.id}`, { token })).body.data;
      expect(delivery.status).toBe('pending');

      expect((await api.call('DELETE', `/api/domains/${one.id}`, { token })).status).toBe(204);
      const kept = await api.call('GET', `/api/messages/${shared.id}`, { token });
      expect(kept.status).toBe(200);
      expect(kept.body).toMatchObject({ domain_id: two.id, domain_ids: [two.id] });
      expect((await api.call('GET', `/api/messages/${shared.id}/raw`, { token })).text).toContain('Subject: shared');
      expect((await api.call('GET', `/api/deliveries/${delivery.id}`, { token })).body).toMatchObject({ status: 'failed', last_error: 'domain deleted' });
      expect((await api.call('GET', `/api/messages?domain_id=${two.id}`, { token })).body.data.map((m: { id: string }) => m.id)).toEqual([shared.id]);
      // Mail only one.test received went with it, objects included.
      expect((await api.call('GET', `/api/messages/${onlyOne.id}`, { token })).status).toBe(404);
      await expect(api.deps.blobs.get(`msg/${onlyOne.id}/raw.eml`)).rejects.toBeInstanceOf(BlobNotFoundError);

      expect((await api.call('DELETE', `/api/domains/${two.id}`, { token })).status).toBe(204);
      expect((await api.call('GET', `/api/messages/${shared.id}`, { token })).status).toBe(404);
      await expect(api.deps.blobs.get(`msg/${shared.id}/raw.eml`)).rejects.toBeInstanceOf(BlobNotFoundError);
    } finally {
      await smtp.close();
    }
  });
});

describe('domain webhook', () => {
  it('sets a webhook with a whsec_ secret, keeps the secret when the URL changes, removes it', async () => {
    api = testApi();
    const { token } = await signup(api);
    const d = await addDomain(api, token);
    const set = await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url: `${receiver.url}/a` } });
    expect(set.status).toBe(200);
    expect(set.body).toEqual({ url: `${receiver.url}/a`, secret: expect.stringMatching(/^whsec_[A-Za-z0-9+/=]{32}$/), payload: 'json' });
    const replaced = await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url: `${receiver.url}/b` } });
    expect(replaced.body).toEqual({ url: `${receiver.url}/b`, secret: set.body.secret, payload: 'json' });
    expect((await api.call('GET', `/api/domains/${d.id}`, { token })).body.webhook).toEqual(replaced.body);
    expect((await api.call('DELETE', `/api/domains/${d.id}/webhook`, { token })).status).toBe(204);
    expect((await api.call('GET', `/api/domains/${d.id}`, { token })).body.webhook).toBeNull();
    const again = await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url: `${receiver.url}/c` } });
    expect(again.body.secret).not.toBe(set.body.secret);
  });

  it('refuses unsafe or malformed URLs with 400', async () => {
    api = testApi({ ALLOW_INSECURE_WEBHOOKS: 'false' });
    const { token } = await signup(api);
    const d = await addDomain(api, token);
    for (const url of ['http://example.com/hook', 'https://127.0.0.1/hook', 'https://169.254.169.254/', 'not a url', 'https://u:p@example.com/']) {
      const res = await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url } });
      expect(res.status, url).toBe(400);
      expect(res.body.error).toMatch(/webhook URL/);
    }
    const missing = await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: {} });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/^url: /);
    expect((await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url: 'https://hooks.example.com/x' } })).status).toBe(200);
  });

  it('sends a signed webhook.test event and reports what the receiver answered', async () => {
    api = testApi();
    const { token } = await signup(api);
    const d = await addDomain(api, token);
    expect((await api.call('POST', `/api/domains/${d.id}/webhook/test`, { token })).status).toBe(409);
    const { body: hook } = await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url: `${receiver.url}/test` } });
    receiver.next({ status: 202, body: 'got it' });
    const before = receiver.requests.length;
    const res = await api.call('POST', `/api/domains/${d.id}/webhook/test`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: true, status_code: 202, body: 'got it', error: null });
    expect(res.body.latency_ms).toBeGreaterThanOrEqual(0);
    const req = receiver.requests[before]!;
    const event = new Webhook(hook.secret).verify(req.body, {
      'webhook-id': String(req.headers['webhook-id']),
      'webhook-timestamp': String(req.headers['webhook-timestamp']),
      'webhook-signature': String(req.headers['webhook-signature']),
    });
    expect(event).toMatchObject({ type: 'webhook.test', data: { domain: 'example.com' } });

    receiver.next({ status: 500, body: 'boom' });
    const failed = await api.call('POST', `/api/domains/${d.id}/webhook/test`, { token });
    expect(failed.body).toMatchObject({ ok: false, status_code: 500, body: 'boom' });
  });

  it('reports a connection failure as error, not as a 5xx of ours', async () => {
    api = testApi();
    const { token } = await signup(api);
    const d = await addDomain(api, token);
    await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url: 'http://127.0.0.1:1/nothing' } });
    const res = await api.call('POST', `/api/domains/${d.id}/webhook/test`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ ok: false, status_code: null, error: expect.any(String) });
  });
});
