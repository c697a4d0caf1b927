import type { LookupAddress } from 'node:dns';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { postWebhook, type PostInput } from '../../src/deliver/post.js';
import type { Logger } from '../../src/log.js';
import { REFUSED_ADDRESS } from '../../src/net/url-guard.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeliveryWorker } from '../../src/deliver/worker.js';
import { fakeClock, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { addDomain, markVerified, signup, testApi, type TestApi } from '../helpers/api.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { SECRET, seedDelivery, seedMessage } from '../deliver/seed.js';

/**
 * SSRF through webhook URLs (DESIGN §6). Save time: every URL field of the API refuses what
 * can be judged without DNS. Connect time: the answer the socket actually uses is the one that
 * is checked (DNS rebinding), with a resolver this test controls. test/deliver/url-guard.test.ts
 * has the address classifier's table; this file drives the real entry points.
 */
const dns = vi.hoisted(() => ({ answers: new Map<string, LookupAddress[][]>(), calls: new Map<string, number>() }));
vi.mock('node:dns', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:dns')>();
  const lookup = (host: string, opts: unknown, cb: (err: Error | null, a: LookupAddress[] | string, f?: number) => void) => {
    const queue = dns.answers.get(host);
    if (!queue) return (actual.lookup as (...a: unknown[]) => void)(host, opts, cb);
    dns.calls.set(host, (dns.calls.get(host) ?? 0) + 1);
    const answer = queue.length > 1 ? queue.shift()! : queue[0]!;
    // An empty answer stands for a name that does not exist.
    if (answer.length === 0) return setImmediate(() => cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), ''));
    const all = typeof opts === 'object' && opts !== null && (opts as { all?: boolean }).all;
    setImmediate(() => (all ? cb(null, answer) : cb(null, answer[0]!.address, answer[0]!.family)));
  };
  return { ...actual, lookup, default: { ...actual, lookup } };
});
const v4 = (address: string): LookupAddress => ({ address, family: 4 });
const logged: [string, Record<string, unknown>][] = [];
const capture = (): Logger => {
  const keep = (msg: string, fields: Record<string, unknown> = {}) => void logged.push([msg, fields]);
  return { debug: keep, info: keep, warn: keep, error: keep };
};
const v6 = (address: string): LookupAddress => ({ address, family: 6 });

describe('save time: every URL field of the API refuses these (ALLOW_INSECURE_WEBHOOKS=false)', () => {
  let api: TestApi;
  let token: string;
  let domainId: string;
  let routeId: string;
  beforeAll(async () => {
    api = testApi({ ALLOW_INSECURE_WEBHOOKS: 'false' });
    ({ token } = await signup(api));
    domainId = (await addDomain(api, token, 'example.com')).id;
    await markVerified(api, domainId);
    const route = await api.call('POST', '/api/routes', {
      token,
      body: { domain_id: domainId, match: 'a@example.com', action: 'webhook', destination: 'https://hooks.example.net/in' },
    });
    expect(route.status).toBe(201);
    routeId = route.body.id;
  });
  afterAll(() => api.deps.cleanup());

  const refused: [string, string][] = [
    ['http://hooks.example.net/in', 'plain http'],
    ['https://127.0.0.1/', 'loopback'],
    ['https://127.255.0.1:8443/', 'loopback /8'],
    ['https://[::1]/', 'IPv6 loopback'],
    ['https://10.1.2.3/', 'private'],
    ['https://172.20.0.1/', 'private'],
    ['https://192.168.0.10/', 'private'],
    ['https://100.100.100.200/', 'CGNAT (Alibaba metadata)'],
    ['https://169.254.169.254/latest/meta-data/', 'AWS/GCP metadata'],
    ['https://169.254.1.1/', 'link-local'],
    ['https://[fd00:ec2::254]/', 'AWS IPv6 metadata'],
    ['https://[fe80::1]/', 'IPv6 link-local'],
    ['https://[fc00::1]/', 'unique local'],
    ['https://[::ffff:127.0.0.1]/', 'IPv4-mapped loopback'],
    ['https://[0:0:0:0:0:ffff:169.254.169.254]/', 'IPv4-mapped metadata, long form'],
    ['https://[::ffff:a9fe:a9fe]/', 'IPv4-mapped metadata, hex'],
    ['https://[64:ff9b::127.0.0.1]/', 'NAT64 of loopback'],
    ['https://[64:ff9b::a00:1]/', 'NAT64 of private'],
    ['https://[2002:7f00:1::1]/', '6to4 of loopback'],
    ['https://[2002:a9fe:a9fe::]/', '6to4 of metadata'],
    ['https://[::127.0.0.1]/', 'IPv4-compatible'],
    ['https://[::]/', 'unspecified'],
    ['https://0/', '0 = 0.0.0.0'],
    ['https://0.0.0.0/', 'this network'],
    ['https://2130706433/', 'decimal 127.0.0.1'],
    ['https://0x7f000001/', 'hex 127.0.0.1'],
    ['https://0x7f.0x0.0x0.0x1/', 'dotted hex'],
    ['https://017700000001/', 'octal, one part'],
    ['https://0177.0.0.01/', 'dotted octal'],
    ['https://127.1/', 'short form'],
    ['https://127.000.000.001/', 'zero-padded'],
    ['https://127.0.0.1./', 'trailing dot'],
    ['https://①②⑦.0.0.1/', 'circled digits (IDNA maps them)'],
    ['https://１２７.０.０.１/', 'full-width digits'],
    ['https://127。0。0。1/', 'ideographic full stops'],
    ['https://4294967295/', 'broadcast as one number'],
    ['https://user:pass@hooks.example.net/', 'credentials'],
    ['https://hooks.example.net@127.0.0.1/', 'userinfo: the host is 127.0.0.1'],
    ['https://127.0.0.1:443@hooks.example.net/', 'userinfo that looks like host:port'],
    ['https://127.0.0.1#@hooks.example.net/', 'fragment before @: the host is 127.0.0.1'],
    ['https://[fe80::1%25eth0]/', 'zone id'],
    ['ftp://hooks.example.net/', 'ftp'],
    ['gopher://127.0.0.1:6379/_FLUSHALL', 'gopher'],
    ['file:///etc/passwd', 'file'],
    ['data:text/plain,hi', 'data'],
    ['javascript:alert(1)', 'javascript'],
    ['wss://hooks.example.net/', 'websocket'],
    ['//hooks.example.net/in', 'scheme-relative'],
    [' https://127.0.0.1/ ', 'padded with spaces'],
  ];

  it.each(refused)('%s (%s): 400 on PUT webhook, POST route and PATCH route; nothing saved', async (url) => {
    const put = await api.call('PUT', `/api/domains/${domainId}/webhook`, { token, body: { url } });
    const post = await api.call('POST', '/api/routes', { token, body: { domain_id: domainId, match: 'b@example.com', action: 'webhook', destination: url } });
    const patch = await api.call('PATCH', `/api/routes/${routeId}`, { token, body: { destination: url } });
    for (const res of [put, post, patch]) {
      expect(res.status).toBe(400);
      expect(res.body).toEqual({ error: expect.any(String) });
    }
    expect((await api.deps.repos.domains.getById(domainId))!.webhookUrl).toBeNull();
    expect((await api.deps.repos.routes.get((await api.deps.repos.domains.getById(domainId))!.userId, routeId))!.destination).toBe('https://hooks.example.net/in');
    expect(await api.deps.repos.routes.enabledForDomain(domainId)).toHaveLength(1);
  });

  it.each(['https://hooks.example.net/in?x=1', 'https://93.184.216.34:8443/', 'https://[2606:4700::1111]/', 'https://localhost.example.net/'])(
    'accepts the public %s',
    async (url) => {
      expect((await api.call('PUT', `/api/domains/${domainId}/webhook`, { token, body: { url } })).status).toBe(200);
    },
  );
});

describe('connect time: the answer the socket uses is the answer that is checked', () => {
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    receiver = await startWebhookReceiver();
    dns.answers.clear();
    dns.calls.clear();
  });
  afterEach(() => receiver.close());

  const port = () => new URL(receiver.url).port;
  const post = (host: string, over: Partial<PostInput> = {}) =>
    postWebhook({ url: `https://${host}:${port()}/hook`, secret: SECRET, id: 'dlv_ssrf', body: '{}', now: Date.now(), timeoutMs: 1500, allowInsecure: false, ...over });

  it.each([
    ['loopback', [v4('127.0.0.1')], /loopback/],
    ['0.0.0.0 (reaches this host)', [v4('0.0.0.0')], /this network/],
    ['metadata', [v4('169.254.169.254')], /metadata/],
    ['IPv4-mapped loopback', [v6('::ffff:127.0.0.1')], /IPv4-mapped/],
    ['a public and a private address together', [v4('93.184.216.34'), v4('10.0.0.5')], /private/],
    ['IPv6 unique local', [v6('fd12:3456::1')], /unique local/],
  ] as [string, LookupAddress[], RegExp][])('a name resolving to %s is refused before any byte is sent', async (_name, answer, why) => {
    dns.answers.set('hook.attacker.test', [answer]);
    const r = await post('hook.attacker.test');
    expect(r.statusCode).toBeNull();
    // The user reads only that; what resolved to what is for the server log.
    expect(r.error).toBe(REFUSED_ADDRESS);
    expect(r.detail).toMatch(why);
    expect(r.detail).toMatch(/hook\.attacker\.test resolves to /);
    expect(receiver.requests).toHaveLength(0);
  });

  it('DNS rebinding: public when the URL is saved, loopback when connecting: refused, with one lookup per attempt', async () => {
    // What the save-time check (no DNS) and a first, harmless resolution would have seen...
    dns.answers.set('rebind.attacker.test', [[v4('93.184.216.34')], [v4('127.0.0.1')]]);
    const first = await post('rebind.attacker.test', { timeoutMs: 300 });
    expect(dns.calls.get('rebind.attacker.test')).toBe(1);
    expect(first.error ?? '').not.toMatch(/refused$/);
    // ...then the attacker's DNS flips to 127.0.0.1 with a zero TTL.
    const second = await post('rebind.attacker.test');
    expect(dns.calls.get('rebind.attacker.test')).toBe(2);
    expect(second.error).toBe(REFUSED_ADDRESS);
    expect(second.detail).toMatch(/resolves to 127\.0\.0\.1, a loopback address/);
    expect(receiver.requests).toHaveLength(0);
  });
});

describe('URLs that got into the database before the rules (or around them) are still refused when sending', () => {
  let deps: TestDeps;
  let receiver: WebhookReceiver;
  beforeEach(async () => {
    deps = testDeps({ ALLOW_INSECURE_WEBHOOKS: 'false' }, { now: fakeClock(Date.now()).now });
    deps.log = capture();
    receiver = await startWebhookReceiver();
    dns.answers.clear();
    logged.length = 0;
  });
  afterEach(async () => {
    await receiver.close();
    deps.cleanup();
  });

  it('the delivery worker records a refused attempt, sends nothing and keeps the delivery on its schedule', async () => {
    const { user, domain } = await seedUserAndDomain(deps);
    const { message } = await seedMessage(deps, { userId: user.id, domainId: domain.id });
    const port = new URL(receiver.url).port;
    dns.answers.set('legacy.attacker.test', [[v4('127.0.0.1')]]);
    const ds = [];
    for (const url of [`http://127.0.0.1:${port}/hook`, `https://127.0.0.1:${port}/hook`, `https://legacy.attacker.test:${port}/hook`]) {
      ds.push(await seedDelivery(deps, { userId: user.id, messageId: message.id, url }));
    }
    await createDeliveryWorker(deps).runOnce();
    expect(receiver.requests).toHaveLength(0);
    const errors = await Promise.all(ds.map(async (d) => (await deps.repos.deliveries.getById(d.id))!));
    expect(errors.map((d) => d.status)).toEqual(['pending', 'pending', 'pending']);
    expect(errors[0]!.lastError).toMatch(/https/);
    expect(errors[1]!.lastError).toMatch(/loopback/);
    expect(errors[2]!.lastError).toBe(REFUSED_ADDRESS);
    expect((await deps.repos.deliveries.attempts(ds[2]!.id)).map((a) => a.error)).toEqual([REFUSED_ADDRESS]);
    expect(logged).toContainEqual(['webhook destination refused', expect.objectContaining({ detail: 'legacy.attacker.test resolves to 127.0.0.1, a loopback address' })]);
  });

  it('POST /api/domains/:id/webhook/test reports the refusal and sends nothing', async () => {
    const api = testApi({ ALLOW_INSECURE_WEBHOOKS: 'false' });
    try {
      const { token } = await signup(api);
      const d = await addDomain(api, token, 'example.com');
      dns.answers.set('legacy.attacker.test', [[v4('169.254.169.254')]]);
      await api.deps.repos.domains.setWebhook(d.id, `https://legacy.attacker.test:${new URL(receiver.url).port}/`, newWebhookSecret());
      const res = await api.call('POST', `/api/domains/${d.id}/webhook/test`, { token });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ ok: false, status_code: null, error: REFUSED_ADDRESS });
      expect(receiver.requests).toHaveLength(0);
    } finally {
      api.deps.cleanup();
    }
  });
});

describe('the webhook test is not a resolver oracle (issue 11 item 3)', () => {
  let api: TestApi;
  beforeEach(() => {
    api = testApi({ ALLOW_INSECURE_WEBHOOKS: 'false' });
    api.deps.log = capture();
    dns.answers.clear();
    logged.length = 0;
  });
  afterEach(() => api.deps.cleanup());

  it('an internal name, another internal name and a name that does not exist get the same answer; the log has the detail', async () => {
    const { token } = await signup(api);
    const d = await addDomain(api, token, 'example.com');
    dns.answers.set('db.corp.internal', [[v4('127.0.0.1')]]);
    dns.answers.set('vault.corp.internal', [[v4('10.0.0.5'), v6('fd00::5')]]);
    dns.answers.set('nothing.corp.internal', [[]]);
    const answers: unknown[] = [];
    for (const host of ['db.corp.internal', 'vault.corp.internal', 'nothing.corp.internal']) {
      expect((await api.call('PUT', `/api/domains/${d.id}/webhook`, { token, body: { url: `https://${host}/hook` } })).status).toBe(200);
      const res = await api.call('POST', `/api/domains/${d.id}/webhook/test`, { token });
      expect(res.status).toBe(200);
      const { latency_ms: _latency, ...rest } = res.body as Record<string, unknown>;
      answers.push(rest);
    }
    expect(answers).toEqual(Array(3).fill({ ok: false, status_code: null, body: '', error: 'refused: the address is not public' }));
    const details = logged.filter(([msg]) => msg === 'webhook test destination refused').map(([, f]) => f.detail);
    expect(details).toEqual([
      'db.corp.internal resolves to 127.0.0.1, a loopback address',
      expect.stringMatching(/^vault\.corp\.internal resolves to 10\.0\.0\.5, a private/),
      'nothing.corp.internal: ENOTFOUND',
    ]);
  });

  it('attempt logs written before this fix are shown with the same words', async () => {
    const { token, user } = await signup(api);
    const d = await addDomain(api, token, 'example.com');
    const { message } = await seedMessage(api.deps, { userId: user.id, domainId: d.id });
    const dl = await seedDelivery(api.deps, { userId: user.id, messageId: message.id, url: 'https://db.corp.internal/hook' });
    const [claimed] = await api.deps.repos.deliveries.claim([dl.id], api.deps.now(), api.deps.now() + 60_000);
    const old = 'db.corp.internal resolves to 127.0.0.1, a loopback address: refused';
    await api.deps.repos.deliveries.finish(dl.id, claimed!.attemptId, {
      finishedAt: api.deps.now(), statusCode: null, latencyMs: 1, responseBody: '', error: old, status: 'pending', nextAttemptAt: api.deps.now() + 30_000,
    });
    const res = await api.call('GET', `/api/deliveries/${dl.id}`, { token });
    expect(res.body).toMatchObject({ last_error: REFUSED_ADDRESS, attempts: [{ error: REFUSED_ADDRESS }] });
    expect(res.text).not.toContain('127.0.0.1');
  });
});

describe('redirects are never followed', () => {
  let deps: TestDeps;
  let receiver: WebhookReceiver;
  let inside: WebhookReceiver;
  beforeEach(async () => {
    deps = testDeps({}, { now: fakeClock(Date.now()).now });
    receiver = await startWebhookReceiver();
    inside = await startWebhookReceiver();
  });
  afterEach(async () => {
    await receiver.close();
    await inside.close();
    deps.cleanup();
  });

  it.each([301, 302, 303, 307, 308])('%i to an internal address: one request, recorded, retried later, the target never hit', async (status) => {
    const { user, domain } = await seedUserAndDomain(deps);
    const { message } = await seedMessage(deps, { userId: user.id, domainId: domain.id });
    receiver.next({ status, headers: { location: `${inside.url}/admin/delete-everything` } });
    const d = await seedDelivery(deps, { userId: user.id, messageId: message.id, url: `${receiver.url}/hook` });
    await createDeliveryWorker(deps).runOnce();
    expect(receiver.requests).toHaveLength(1);
    expect(inside.requests).toHaveLength(0);
    expect(await deps.repos.deliveries.getById(d.id)).toMatchObject({ status: 'pending', lastStatus: status, lastError: expect.stringMatching(/not followed/) });
  });
});
