import { afterEach, describe, expect, it } from 'vitest';
import { addDomain, signup, testApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

async function setup() {
  api = testApi();
  const s = await signup(api);
  const d = await addDomain(api, s.token, 'example.com');
  const create = (body: Record<string, unknown>) => api.call('POST', '/api/routes', { token: s.token, body: { domain_id: d.id, ...body } });
  return { ...s, domain: d, create };
}

describe('routes CRUD', () => {
  it('creates a webhook route with defaults and a whsec_ secret', async () => {
    const { token, domain, create } = await setup();
    const res = await create({ match: 'support@example.com', action: 'webhook', destination: 'https://hooks.example.net/in' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      domain_id: domain.id,
      match: 'support@example.com',
      action: 'webhook',
      destination: 'https://hooks.example.net/in',
      priority: 100,
      stop: false,
      filters: null,
      enabled: true,
    });
    expect(res.body.id).toMatch(/^rte_/);
    expect(res.body.secret).toMatch(/^whsec_/);
    expect((await api.call('GET', `/api/routes/${res.body.id}`, { token })).body).toEqual(res.body);
  });

  it('stores filters, priority and stop; non-webhook routes have no destination or secret', async () => {
    const { create } = await setup();
    const res = await create({ match: '*@example.com', action: 'store', priority: 5, stop: true, filters: { from: '*@stripe.com', header: { name: 'X-Tag', value: 'vip' } } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ priority: 5, stop: true, destination: null, secret: null, filters: { from: '*@stripe.com', header: { name: 'X-Tag', value: 'vip' } } });
  });

  it.each([
    [{ action: 'store' }, /^match: /],
    [{ match: '*@example.com' }, /^action: /],
    [{ match: '*@example.com', action: 'forward' }, /^action: /],
    [{ match: '*@other.com', action: 'store' }, /^match: .*example\.com/],
    [{ match: '/ticket-[0-9]+@example\\.com/', action: 'store', priority: 0 }, null],
    [{ match: 'x'.repeat(2000), action: 'store' }, /^match: /],
    // RE2 (issue 11): word boundaries and Unicode classes work; lookarounds and backreferences are a 400.
    [{ match: '/\\bsales\\b.*@example\\.com/', action: 'store' }, null],
    [{ match: '/\\p{L}+@example\\.com/', action: 'store', filters: { subject: '/.*\\binvoice\\b.*/' } }, null],
    [{ match: '/(?!admin)\\w+@example\\.com/', action: 'store' }, /^match: invalid regular expression: lookarounds are not supported/],
    [{ match: '/(a)\\1@example\\.com/', action: 'store' }, /^match: invalid regular expression: backreferences/],
    [{ match: '*@example.com', action: 'store', filters: { subject: '/(?<=re: )x/' } }, /^filters\.subject: invalid regular expression: lookarounds/],
    [{ match: '/(?:.?a?){300}@example\\.com/', action: 'store' }, /^match: invalid regular expression: pattern is too complex/],
    [{ match: '*@example.com', action: 'webhook' }, /^destination: required/],
    [{ match: '*@example.com', action: 'store', destination: 'https://x.example/' }, /^destination: only webhook/],
    [{ match: '*@example.com', action: 'webhook', destination: 'ftp://x.example/' }, /webhook URL/],
    [{ match: '*@example.com', action: 'store', priority: -1 }, /^priority: /],
    [{ match: '*@example.com', action: 'store', priority: 10001 }, /^priority: /],
    [{ match: '*@example.com', action: 'store', priority: 1.5 }, /^priority: /],
    [{ match: '*@example.com', action: 'store', stop: 'yes' }, /^stop: /],
    [{ match: '*@example.com', action: 'store', filters: { to: 'x' } }, /^filters: unknown filter to/],
    [{ match: '*@example.com', action: 'store', filters: 'x' }, /^filters: /],
    [{ match: '*@example.com', action: 'reject', filters: { subject: 'x' } }, /^filters: reject routes/],
    [{ match: '*@example.com', action: 'store', filters: { header: { name: 'Bad:Name', value: 'x' } } }, /^filters\.header\.name/],
  ])('validates %j', async (body, error) => {
    const { create } = await setup();
    const res = await create(body);
    if (error === null) return expect(res.status).toBe(201);
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(error);
  });

  it('refuses a domain_id that is not yours with 404, and a missing one with 400', async () => {
    const { create, token } = await setup();
    const other = await signup(api);
    const theirs = await addDomain(api, other.token, 'theirs.example');
    const foreign = await create({ domain_id: theirs.id, match: '*@theirs.example', action: 'store' });
    const random = await create({ domain_id: 'dom_01jdzzzzzzzzzzzzzzzzzzzzzz', match: '*@theirs.example', action: 'store' });
    expect(foreign.status).toBe(404);
    expect(foreign.text).toBe(random.text);
    const missing = await api.call('POST', '/api/routes', { token, body: { match: '*@example.com', action: 'store' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/^domain_id: /);
  });

  it('PATCH updates part of a route with the same validation; switching action drops the destination', async () => {
    const { token, create } = await setup();
    const { body: r } = await create({ match: 'a@example.com', action: 'webhook', destination: 'https://h.example.net/1' });
    const p1 = await api.call('PATCH', `/api/routes/${r.id}`, { token, body: { destination: 'https://h.example.net/2', priority: 7 } });
    expect(p1.status).toBe(200);
    expect(p1.body).toMatchObject({ destination: 'https://h.example.net/2', priority: 7, secret: r.secret, match: 'a@example.com' });
    const bad = await api.call('PATCH', `/api/routes/${r.id}`, { token, body: { match: 'a@elsewhere.com' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^match: /);
    const stored = await api.call('PATCH', `/api/routes/${r.id}`, { token, body: { action: 'store' } });
    expect(stored.body).toMatchObject({ action: 'store', destination: null, secret: null });
    const back = await api.call('PATCH', `/api/routes/${r.id}`, { token, body: { action: 'webhook' } });
    expect(back.status).toBe(400);
    expect(back.body.error).toMatch(/^destination: required/);
    const disabled = await api.call('PATCH', `/api/routes/${r.id}`, { token, body: { enabled: false, filters: { subject: 'x' } } });
    expect(disabled.body).toMatchObject({ enabled: false, filters: { subject: 'x' } });
    expect((await api.call('PATCH', `/api/routes/${r.id}`, { token, body: { priority: 'high' } })).status).toBe(400);
    expect(Date.now() - (await api.call('GET', `/api/routes/${r.id}`, { token })).body.updated_at).toBeLessThan(10_000);
  });

  it('lists with a domain filter and pagination; deletes', async () => {
    const { token, domain, create } = await setup();
    const d2 = await addDomain(api, token, 'two.example');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await create({ match: `r${i}@example.com`, action: 'store' })).body.id);
    await api.call('POST', '/api/routes', { token, body: { domain_id: d2.id, match: '*@two.example', action: 'drop' } });
    expect((await api.call('GET', '/api/routes', { token })).body.data).toHaveLength(4);
    const page1 = await api.call('GET', `/api/routes?domain_id=${domain.id}&limit=2`, { token });
    expect(page1.body.data.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
    const page2 = await api.call('GET', `/api/routes?domain_id=${domain.id}&limit=2&before=${page1.body.next_cursor}`, { token });
    expect(page2.body).toEqual({ data: [expect.objectContaining({ id: ids[0] })], next_cursor: null });
    expect((await api.call('DELETE', `/api/routes/${ids[0]}`, { token })).status).toBe(204);
    expect((await api.call('GET', `/api/routes/${ids[0]}`, { token })).status).toBe(404);
    expect((await api.call('DELETE', `/api/routes/${ids[0]}`, { token })).status).toBe(404);
  });

  it("another user's route is 404 for get, patch and delete, like a random id", async () => {
    const { create } = await setup();
    const { body: r } = await create({ match: '*@example.com', action: 'store' });
    const bob = await signup(api);
    for (const [method, body] of [['GET', undefined], ['PATCH', { priority: 1 }], ['DELETE', undefined]] as const) {
      const theirs = await api.call(method, `/api/routes/${r.id}`, { token: bob.token, body });
      const random = await api.call(method, '/api/routes/rte_01jdzzzzzzzzzzzzzzzzzzzzzz', { token: bob.token, body });
      expect(theirs.status).toBe(404);
      expect(theirs.text).toBe(random.text);
    }
  });
});
