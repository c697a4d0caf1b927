import { afterEach, describe, expect, it } from 'vitest';
import { sha256Hex } from '../../src/auth/secrets.js';
import { fakeClock } from '../helpers/deps.js';
import { addDomain, createKey, signup, testApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

describe('API keys', () => {
  it('creates a key shown once, stored hashed, listed by prefix', async () => {
    api = testApi();
    const { token, user } = await signup(api);
    const res = await api.call('POST', '/api/keys', { token, body: { name: 'CI', scopes: ['messages:read', 'messages:read', 'routes:write'] } });
    expect(res.status).toBe(201);
    expect(res.body.key).toMatch(/^mhk_[A-Za-z0-9_-]{43}$/);
    expect(res.body).toMatchObject({ name: 'CI', scopes: ['messages:read', 'routes:write'], domain_id: null, last_used_at: null });
    expect(res.body.id).toMatch(/^key_/);
    expect(res.body.key.startsWith(res.body.prefix)).toBe(true);
    const row = (await api.deps.repos.apiKeys.get(user.id, res.body.id))!;
    expect(row.keyHash).toBe(sha256Hex(res.body.key));
    const list = await api.call('GET', '/api/keys', { token });
    expect(list.status).toBe(200);
    expect(list.body.next_cursor).toBeNull();
    expect(list.body.data).toHaveLength(1);
    expect(list.body.data[0]).toMatchObject({ id: res.body.id, prefix: res.body.prefix });
    expect(list.body.data[0].key).toBeUndefined();
    expect(JSON.stringify(list.body)).not.toContain(res.body.key);
  });

  it('records last_used_at when the key is used', async () => {
    const clock = fakeClock();
    api = testApi({}, { now: clock.now });
    const { token } = await signup(api);
    const { secret } = await createKey(api, token, ['domains:read']);
    clock.advance(5000);
    expect((await api.call('GET', '/api/domains', { token: secret })).status).toBe(200);
    const [key] = (await api.call('GET', '/api/keys', { token })).body.data;
    expect(key.last_used_at).toBe(clock.now());
  });

  it('revocation takes effect on the very next request', async () => {
    api = testApi();
    const { token } = await signup(api);
    const { secret, key } = await createKey(api, token, ['*']);
    expect((await api.call('GET', '/api/domains', { token: secret })).status).toBe(200);
    expect((await api.call('DELETE', `/api/keys/${key.id}`, { token })).status).toBe(204);
    const after = await api.call('GET', '/api/domains', { token: secret });
    expect(after.status).toBe(401);
    expect((await api.call('GET', '/api/keys', { token })).body.data).toHaveLength(0);
    expect((await api.call('DELETE', `/api/keys/${key.id}`, { token })).status).toBe(404);
  });

  it('refuses bad bodies with 400 naming the field', async () => {
    api = testApi();
    const { token } = await signup(api);
    const cases: [unknown, RegExp][] = [
      [{ scopes: ['*'] }, /^name: /],
      [{ name: '  ', scopes: ['*'] }, /^name: /],
      [{ name: 'x' }, /^scopes: /],
      [{ name: 'x', scopes: [] }, /^scopes: /],
      [{ name: 'x', scopes: ['admin'] }, /^scopes\.0: /],
      [{ name: 'x', scopes: 'messages:read' }, /^scopes: /],
    ];
    for (const [body, error] of cases) {
      const res = await api.call('POST', '/api/keys', { token, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.error).toMatch(error);
    }
  });

  it('needs a session: an API key, even with *, cannot manage keys', async () => {
    api = testApi();
    const { token } = await signup(api);
    const { secret, key } = await createKey(api, token, ['*']);
    expect((await api.call('GET', '/api/keys', { token: secret })).status).toBe(403);
    expect((await api.call('POST', '/api/keys', { token: secret, body: { name: 'x', scopes: ['*'] } })).status).toBe(403);
    expect((await api.call('DELETE', `/api/keys/${key.id}`, { token: secret })).status).toBe(403);
    expect((await api.call('GET', '/api/keys')).status).toBe(401);
  });

  it("another user's key is 404 like an unknown one", async () => {
    api = testApi();
    const alice = await signup(api);
    const bob = await signup(api);
    const { key } = await createKey(api, alice.token, ['*']);
    const theirs = await api.call('DELETE', `/api/keys/${key.id}`, { token: bob.token });
    const random = await api.call('DELETE', '/api/keys/key_01jdzzzzzzzzzzzzzzzzzzzzzz', { token: bob.token });
    expect(theirs.status).toBe(404);
    expect(theirs.text).toBe(random.text);
  });

  it('a key restricted to a domain sees only that domain; the domain must be yours', async () => {
    api = testApi();
    const { token } = await signup(api);
    const other = await signup(api);
    const a = await addDomain(api, token, 'a.example');
    const b = await addDomain(api, token, 'b.example');
    const theirs = await addDomain(api, other.token, 'c.example');
    expect((await api.call('POST', '/api/keys', { token, body: { name: 'x', scopes: ['*'], domain_id: theirs.id } })).status).toBe(404);
    const { secret } = await createKey(api, token, ['*'], a.id);
    const list = await api.call('GET', '/api/domains', { token: secret });
    expect(list.body.data.map((d: { id: string }) => d.id)).toEqual([a.id]);
    expect((await api.call('GET', `/api/domains/${a.id}`, { token: secret })).status).toBe(200);
    const hidden = await api.call('GET', `/api/domains/${b.id}`, { token: secret });
    const random = await api.call('GET', '/api/domains/dom_01jdzzzzzzzzzzzzzzzzzzzzzz', { token: secret });
    expect(hidden.status).toBe(404);
    expect(hidden.text).toBe(random.text);
    expect((await api.call('POST', '/api/domains', { token: secret, body: { name: 'new.example' } })).status).toBe(403);
    expect((await api.call('POST', '/api/routes', { token: secret, body: { domain_id: b.id, match: '*@b.example', action: 'store' } })).status).toBe(404);
    expect((await api.call('POST', '/api/routes', { token: secret, body: { domain_id: a.id, match: '*@a.example', action: 'store' } })).status).toBe(201);
    // Deleting the domain deletes the keys restricted to it.
    expect((await api.call('DELETE', `/api/domains/${a.id}`, { token })).status).toBe(204);
    expect((await api.call('GET', '/api/domains', { token: secret })).status).toBe(401);
  });
});
