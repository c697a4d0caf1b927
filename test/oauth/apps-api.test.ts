import { afterEach, describe, expect, it } from 'vitest';
import { createKey, signup, testApi, type TestApi } from '../helpers/api.js';
import { connect, registerApp } from '../helpers/oauth.js';
import { signUpInBrowser } from '../web/web-client.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

describe('the apps API', () => {
  it('registers a confidential app: client_secret shown once, stored only as a hash', async () => {
    api = testApi();
    const { token } = await signup(api);
    const res = await api.call('POST', '/api/apps', { token, body: { name: 'Acme', redirect_uris: ['https://acme.example/cb', 'http://127.0.0.1/cb'] } });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      id: expect.stringMatching(/^app_/),
      name: 'Acme',
      client_id: expect.stringMatching(/^mhc_/),
      client_secret: expect.stringMatching(/^mhcs_[\w-]{43}$/),
      confidential: true,
      redirect_uris: ['https://acme.example/cb', 'http://127.0.0.1/cb'],
      created_at: expect.any(Number),
    });
    const one = await api.call('GET', `/api/apps/${res.body.id}`, { token });
    expect(one.status).toBe(200);
    expect(one.body).not.toHaveProperty('client_secret');
    expect((await api.call('GET', '/api/apps', { token })).body).toEqual({ data: [one.body], next_cursor: null });
    const row = api.deps.db.prepare('SELECT secret_hash FROM oauth_apps WHERE id = ?').get(res.body.id) as { secret_hash: string };
    expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(api.deps.db.prepare('SELECT * FROM oauth_apps').all())).not.toContain(res.body.client_secret);
  });

  it('registers a public client without a secret', async () => {
    api = testApi();
    const { token } = await signup(api);
    const res = await api.call('POST', '/api/apps', { token, body: { name: 'CLI', redirect_uris: ['http://127.0.0.1/cb'], confidential: false } });
    expect(res.status).toBe(201);
    expect(res.body.confidential).toBe(false);
    expect(res.body).not.toHaveProperty('client_secret');
  });

  it('refuses bad redirect URIs with a 400 naming the field', async () => {
    api = testApi();
    const { token } = await signup(api);
    for (const [uris, why] of [
      [['http://acme.example/cb'], /redirect_uris\.0: must be https/],
      [['https://acme.example/cb', 'https://*.acme.example/cb'], /redirect_uris\.1: wildcards/],
      [['https://acme.example/cb#x'], /redirect_uris\.0: must not have a fragment/],
      [[], /redirect_uris/],
      [Array.from({ length: 11 }, (_, i) => `https://acme.example/${i}`), /redirect_uris/],
    ] as const) {
      const res = await api.call('POST', '/api/apps', { token, body: { name: 'Acme', redirect_uris: uris } });
      expect(res.status).toBe(400);
      expect(res.body.error).toMatch(why);
    }
    expect((await api.call('POST', '/api/apps', { token, body: { name: ' ', redirect_uris: ['https://a.example/cb'] } })).status).toBe(400);
    expect((await api.call('GET', '/api/apps', { token })).body.data).toEqual([]);
  });

  it('is session-only: an API key or an OAuth access token gets 403', async () => {
    api = testApi();
    const owner = await signup(api);
    const { secret } = await createKey(api, owner.token, ['*']);
    const b = await signUpInBrowser(api);
    const { tokens } = await connect(api, owner.token, b, { scope: '*' });
    for (const token of [secret, tokens.access_token]) {
      for (const [method, path] of [['GET', '/api/apps'], ['POST', '/api/apps'], ['GET', '/api/connected-apps'], ['POST', '/api/keys']] as const) {
        const res = await api.call(method, path, { token, body: method === 'POST' ? { name: 'x', redirect_uris: ['https://a.example/cb'], scopes: ['*'] } : undefined });
        expect(res.status, `${method} ${path}`).toBe(403);
        expect(res.body.error).toMatch(/session/);
      }
    }
  });

  it('another account’s app is 404, and deleting it leaves it alone', async () => {
    api = testApi();
    const a = await signup(api);
    const other = await signup(api);
    const app = await registerApp(api, a.token);
    expect((await api.call('GET', `/api/apps/${app.id}`, { token: other.token })).status).toBe(404);
    expect((await api.call('DELETE', `/api/apps/${app.id}`, { token: other.token })).status).toBe(404);
    expect((await api.call('GET', '/api/apps', { token: other.token })).body.data).toEqual([]);
    expect((await api.call('DELETE', `/api/apps/${app.id}`, { token: a.token })).status).toBe(204);
    expect((await api.call('GET', `/api/apps/${app.id}`, { token: a.token })).status).toBe(404);
  });

  it('is described in the OpenAPI document', async () => {
    api = testApi();
    const doc = (await api.call('GET', '/api/openapi.json')).body;
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/api/apps', '/api/apps/{id}', '/api/connected-apps', '/api/connected-apps/{app_id}']));
    expect(doc.paths['/api/apps'].post.responses['201']).toBeDefined();
    expect(doc.components.schemas.OAuthApp).toBeDefined();
  });
});
