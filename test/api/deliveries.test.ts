import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { storeMessage } from '../helpers/messages.js';
import { addDomain, createKey, markVerified, signup, testApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

async function setup() {
  let kicks = 0;
  api = testApi({}, { app: { kickDeliveries: () => void kicks++ } });
  const s = await signup(api);
  const d = await addDomain(api, s.token, 'example.com');
  const owner = { userId: s.user.id, domainId: d.id };
  const deliver = async (messageId: string, routeId: string | null, status: 'pending' | 'delivered' | 'failed' = 'pending', domainId = owner.domainId) => {
    const id = newId('dlv');
    const now = api.deps.now();
    await api.deps.repos.deliveries.insert({ id, userId: owner.userId, messageId, routeId, domainId, url: 'https://h.example.net/x', secret: 'whsec_x' }, now);
    if (status !== 'pending') {
      const [c] = await api.deps.repos.deliveries.claim([id], now, now + 1000);
      await api.deps.repos.deliveries.finish(id, c!.attemptId, {
        finishedAt: now,
        statusCode: status === 'delivered' ? 200 : 410,
        latencyMs: 3,
        responseBody: '',
        error: null,
        status,
        nextAttemptAt: null,
      });
    }
    return id;
  };
  return { ...s, domain: d, owner, deliver, kicks: () => kicks };
}

describe('deliveries', () => {
  it('lists with filters (status, message, route) and pagination', async () => {
    const { token, owner, deliver } = await setup();
    const m1 = await storeMessage(api.deps, owner);
    const m2 = await storeMessage(api.deps, owner);
    const a = await deliver(m1.id, 'rte_a', 'delivered');
    const b = await deliver(m1.id, null, 'failed');
    const c = await deliver(m2.id, 'rte_a');
    const ids = async (q: string) => (await api.call('GET', `/api/deliveries?${q}`, { token })).body.data.map((d: { id: string }) => d.id);
    expect(await ids('')).toEqual([c, b, a]);
    expect(await ids('status=delivered')).toEqual([a]);
    expect(await ids('status=pending')).toEqual([c]);
    expect(await ids(`message_id=${m1.id}`)).toEqual([b, a]);
    expect(await ids('route_id=rte_a')).toEqual([c, a]);
    const page = await api.call('GET', '/api/deliveries?limit=2', { token });
    expect(page.body.next_cursor).toBe(b);
    expect(await ids(`limit=2&before=${b}`)).toEqual([a]);
    const bad = await api.call('GET', '/api/deliveries?status=lost', { token });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^status: /);
  });

  it('gets one with its attempt log', async () => {
    const { token, owner, deliver } = await setup();
    const m = await storeMessage(api.deps, owner);
    const id = await deliver(m.id, null, 'failed');
    const res = await api.call('GET', `/api/deliveries/${id}`, { token });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ id, message_id: m.id, route_id: null, status: 'failed', attempt_count: 1, last_status: 410 });
    expect(res.body.attempts).toEqual([{ started_at: expect.any(Number), finished_at: expect.any(Number), status_code: 410, latency_ms: 3, response_body: '', error: null }]);
    expect(res.body.secret).toBeUndefined();
  });

  it('retry queues a new attempt now and kicks the worker', async () => {
    const { token, owner, deliver, kicks } = await setup();
    const m = await storeMessage(api.deps, owner);
    const id = await deliver(m.id, null, 'failed');
    const res = await api.call('POST', `/api/deliveries/${id}/retry`, { token });
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({ id, status: 'pending', next_attempt_at: expect.any(Number) });
    expect(res.body.next_attempt_at).toBeLessThanOrEqual(Date.now());
    expect(kicks()).toBe(1);
    expect((await api.deps.repos.deliveries.getById(id))!.status).toBe('pending');
  });

  it("another user's delivery is 404 for get and retry, like a random id; lists are scoped", async () => {
    const { owner, deliver, kicks } = await setup();
    const m = await storeMessage(api.deps, owner);
    const id = await deliver(m.id, null, 'failed');
    const bob = await signup(api);
    for (const [method, suffix] of [['GET', ''], ['POST', '/retry']] as const) {
      const theirs = await api.call(method, `/api/deliveries/${id}${suffix}`, { token: bob.token });
      const random = await api.call(method, `/api/deliveries/dlv_01jdzzzzzzzzzzzzzzzzzzzzzz${suffix}`, { token: bob.token });
      expect(theirs.status).toBe(404);
      expect(theirs.text).toBe(random.text);
    }
    expect(kicks()).toBe(0);
    expect((await api.deps.repos.deliveries.getById(id))!.status).toBe('failed');
    expect((await api.call('GET', '/api/deliveries', { token: bob.token })).body.data).toEqual([]);
  });

  it('a key restricted to one domain sees only deliveries of that domain', async () => {
    const { token, owner, deliver } = await setup();
    const d2 = await addDomain(api, token, 'two.example');
    const mine = await deliver((await storeMessage(api.deps, owner)).id, null);
    const other = await deliver((await storeMessage(api.deps, { ...owner, domainId: d2.id })).id, null, 'pending', d2.id);
    const { secret } = await createKey(api, token, ['deliveries:read', 'deliveries:write'], owner.domainId);
    const list = await api.call('GET', '/api/deliveries', { token: secret });
    expect(list.body.data.map((d: { id: string }) => d.id)).toEqual([mine]);
    expect((await api.call('GET', `/api/deliveries/${other}`, { token: secret })).status).toBe(404);
    expect((await api.call('POST', `/api/deliveries/${other}/retry`, { token: secret })).status).toBe(404);
    expect((await api.call('GET', `/api/deliveries/${mine}`, { token: secret })).status).toBe(200);
  });

  it('a restricted key filters by status and pages with the cursor, newest first', async () => {
    const { token, owner, deliver } = await setup();
    const d2 = await addDomain(api, token, 'two.example');
    const mine: string[] = [];
    for (let i = 0; i < 7; i++) {
      const status = i % 3 === 0 ? 'delivered' : 'failed';
      const id = await deliver((await storeMessage(api.deps, owner)).id, null, status);
      await deliver((await storeMessage(api.deps, { ...owner, domainId: d2.id })).id, null, 'failed', d2.id);
      if (status === 'failed') mine.unshift(id);
    }
    const { secret } = await createKey(api, token, ['deliveries:read'], owner.domainId);
    const seen: string[] = [];
    let cursor: string | null = '';
    while (cursor !== null) {
      const res = await api.call('GET', `/api/deliveries?status=failed&limit=2${cursor ? `&before=${cursor}` : ''}`, { token: secret });
      seen.push(...res.body.data.map((d: { id: string }) => d.id));
      cursor = res.body.next_cursor;
    }
    expect(seen).toEqual(mine);
  });

  it("a message to two domains: each domain's key sees its routes' deliveries, and the catch-all's", async () => {
    const { token, owner, deliver, kicks } = await setup();
    const two = await addDomain(api, token, 'two.example');
    const three = await addDomain(api, token, 'three.example');
    const route = async (domainId: string, match: string) => {
      await markVerified(api, domainId);
      const res = await api.call('POST', '/api/routes', { token, body: { domain_id: domainId, match, action: 'webhook', destination: 'http://127.0.0.1:9/h' } });
      expect(res.status).toBe(201);
      return res.body.id as string;
    };
    const [r1, r2, gone] = [await route(owner.domainId, '*@example.com'), await route(two.id, '*@two.example'), await route(two.id, 'old@two.example')];
    const m = await storeMessage(api.deps, owner);
    await api.deps.repos.messages.insertRecipient(m.id, 'y@two.example', two.id);
    const d1 = await deliver(m.id, r1, 'failed');
    const d2 = await deliver(m.id, r2, 'failed', two.id);
    const catchAll = await deliver(m.id, null); // the first domain's catch-all
    const orphan = await deliver(m.id, gone, 'failed', two.id);
    expect((await api.call('DELETE', `/api/routes/${gone}`, { token })).status).toBe(204);

    const keyOf = async (domainId: string) => (await createKey(api, token, ['deliveries:read', 'deliveries:write', 'messages:read'], domainId)).secret;
    const [k1, k2, k3] = [await keyOf(owner.domainId), await keyOf(two.id), await keyOf(three.id)];
    const ids = async (key: string, q = '') => (await api.call('GET', `/api/deliveries?${q}`, { token: key })).body.data.map((d: { id: string }) => d.id);
    // A delivery is under the domain recorded when it was queued: its route's, even once the
    // route is deleted (issue 11 item 4), or the domain whose catch-all it was.
    expect(await ids(k1)).toEqual([catchAll, d1]);
    expect(await ids(k2)).toEqual([orphan, d2]);
    expect(await ids(k2, `message_id=${m.id}`)).toEqual([orphan, d2]);
    expect(await ids(k1, `message_id=${m.id}`)).toEqual([catchAll, d1]);
    expect(await ids(k2, `route_id=${r1}`)).toEqual([]);
    expect(await ids(k1, `route_id=${gone}`)).toEqual([]);
    expect(await ids(k3)).toEqual([]);
    const inMessage = (await api.call('GET', `/api/messages/${m.id}`, { token: k2 })).body.deliveries.map((d: { id: string }) => d.id);
    expect(inMessage).toEqual([d2, orphan]);

    for (const [key, theirs] of [[k2, d1], [k1, d2], [k1, orphan], [k2, catchAll], [k3, catchAll]] as const) {
      for (const [method, suffix] of [['GET', ''], ['POST', '/retry']] as const) {
        const hidden = await api.call(method, `/api/deliveries/${theirs}${suffix}`, { token: key });
        const random = await api.call(method, `/api/deliveries/${newId('dlv')}${suffix}`, { token: key });
        expect(hidden.status).toBe(404);
        expect(hidden.text).toBe(random.text);
      }
    }
    expect(kicks()).toBe(0);
    expect((await api.call('GET', `/api/deliveries/${d2}`, { token: k2 })).body).toMatchObject({ id: d2, route_id: r2, attempt_count: 1 });
    expect((await api.call('POST', `/api/deliveries/${d2}/retry`, { token: k2 })).status).toBe(202);
    expect((await api.call('POST', `/api/deliveries/${catchAll}/retry`, { token: k1 })).status).toBe(202);
    expect(kicks()).toBe(2);
    expect((await api.deps.repos.deliveries.getById(d1))!.status).toBe('failed');
  });
});
