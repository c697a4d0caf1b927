import { afterEach, describe, expect, it } from 'vitest';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { fakeClock, type FakeClock } from '../helpers/deps.js';
import { approveCode, connect, exchange, oauthPost, pkce, refreshWith, registerApp } from '../helpers/oauth.js';
import { signUpInBrowser, type Browserish } from '../web/web-client.js';

let api: TestApi;
let clock: FakeClock;
afterEach(() => api?.deps.cleanup());

async function setup() {
  clock = fakeClock();
  api = testApi({}, { now: clock.now });
  const owner = await signup(api);
  const b = await signUpInBrowser(api);
  return { owner: owner.token, b };
}

const messages = (token: string) => api.call('GET', '/api/messages', { token });

function expectOAuthError(res: { status: number; body: { error: string; error_description: string }; headers: Headers }, status: number, error: string, description?: RegExp) {
  expect(res.status).toBe(status);
  expect(res.body).toEqual({ error, error_description: expect.any(String) });
  if (description) expect(res.body.error_description).toMatch(description);
  expect(res.headers.get('cache-control')).toBe('no-store');
}

describe('authorization_code grant', () => {
  it('answers RFC 6749 §5.1 JSON, not cacheable; the token works with exactly its scopes', async () => {
    const { owner, b } = await setup();
    const app = await registerApp(api, owner);
    const { verifier, challenge } = pkce();
    const code = await approveCode(b, app, challenge, { scope: 'messages:read domains:read' });
    const res = await exchange(api, app, code, verifier);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    expect(res.body).toEqual({
      access_token: expect.stringMatching(/^mho_[\w-]{43}$/),
      token_type: 'Bearer',
      expires_in: 3600,
      refresh_token: expect.stringMatching(/^mhr_[\w-]{43}$/),
      scope: 'messages:read domains:read',
    });
    const token = res.body.access_token;
    expect((await messages(token)).status).toBe(200);
    expect((await api.call('GET', '/api/domains', { token })).status).toBe(200);
    const missing = await api.call('GET', '/api/routes', { token });
    expect(missing.status).toBe(403);
    expect(missing.body.error).toMatch(/lacks the routes:read scope/);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer error="insufficient_scope", scope="routes:read"');
    expect((await api.call('DELETE', '/api/messages/msg_x', { token })).status).toBe(403);
    // Stored hashed, never as issued.
    const stored = JSON.stringify(api.deps.db.prepare('SELECT * FROM oauth_tokens').all()) + JSON.stringify(api.deps.db.prepare('SELECT * FROM oauth_codes').all());
    for (const secret of [token, res.body.refresh_token, code]) expect(stored).not.toContain(secret);
  });

  it('sees the approving user’s data, not the app owner’s', async () => {
    const { owner, b } = await setup();
    await api.call('POST', '/api/domains', { token: b.token, body: { name: 'approver.example' } });
    await api.call('POST', '/api/domains', { token: owner, body: { name: 'owner.example' } });
    const { tokens } = await connect(api, owner, b, { scope: 'domains:read' });
    const list = await api.call('GET', '/api/domains', { token: tokens.access_token });
    expect(list.body.data.map((d: { name: string }) => d.name)).toEqual(['approver.example']);
  });

  it('refuses a wrong code_verifier, and the code is spent', async () => {
    const { owner, b } = await setup();
    const app = await registerApp(api, owner);
    const { verifier, challenge } = pkce();
    const code = await approveCode(b, app, challenge);
    expectOAuthError(await exchange(api, app, code, pkce().verifier), 400, 'invalid_grant', /code_verifier/);
    expectOAuthError(await exchange(api, app, code, verifier), 400, 'invalid_grant', /already used/);
    expectOAuthError(await exchange(api, app, code, 'short'), 400, 'invalid_request', /code_verifier/);
  });

  it('refuses a reused code and revokes every token issued from it', async () => {
    const { owner, b } = await setup();
    const app = await registerApp(api, owner);
    const { verifier, challenge } = pkce();
    const code = await approveCode(b, app, challenge);
    const first = await exchange(api, app, code, verifier);
    expect(first.status).toBe(200);
    const refreshed = await refreshWith(api, app, first.body.refresh_token);
    expect(refreshed.status).toBe(200);
    expect((await messages(refreshed.body.access_token)).status).toBe(200);
    expectOAuthError(await exchange(api, app, code, verifier), 400, 'invalid_grant', /already used; every token issued from it is revoked/);
    for (const t of [first.body.access_token, refreshed.body.access_token]) expect((await messages(t)).status).toBe(401);
    expectOAuthError(await refreshWith(api, app, refreshed.body.refresh_token), 400, 'invalid_grant');
  });

  it('refuses a code issued to another client, without spending it', async () => {
    const { owner, b } = await setup();
    const app = await registerApp(api, owner);
    const thief = await registerApp(api, owner, { redirectUri: app.redirectUri, name: 'Thief' });
    const { verifier, challenge } = pkce();
    const code = await approveCode(b, app, challenge);
    expectOAuthError(await exchange(api, thief, code, verifier), 400, 'invalid_grant', /another client/);
    expect((await exchange(api, app, code, verifier)).status).toBe(200);
  });

  it('refuses a redirect_uri that differs from the authorization request’s', async () => {
    const { owner, b } = await setup();
    const app = await registerApp(api, owner);
    const { verifier, challenge } = pkce();
    const code = await approveCode(b, app, challenge);
    expectOAuthError(await exchange(api, app, code, verifier, { redirect_uri: 'https://app.example/other' }), 400, 'invalid_grant', /redirect_uri/);
  });

  it('refuses a code after 60 s', async () => {
    const { owner, b } = await setup();
    const app = await registerApp(api, owner);
    const { verifier, challenge } = pkce();
    const code = await approveCode(b, app, challenge);
    clock.advance(60_000);
    expectOAuthError(await exchange(api, app, code, verifier), 400, 'invalid_grant', /expired/);
    const second = pkce();
    const inTime = await approveCode(b, app, second.challenge);
    clock.advance(59_999);
    expect((await exchange(api, app, inTime, second.verifier)).status).toBe(200);
  });

  it('refuses a missing verifier, unknown code, unknown grant type and a JSON body', async () => {
    const { owner } = await setup();
    const app = await registerApp(api, owner);
    const basic: [string, string] = [app.clientId, app.secret!];
    expectOAuthError(await oauthPost(api, '/oauth/token', { grant_type: 'authorization_code', code: 'x', redirect_uri: app.redirectUri }, basic), 400, 'invalid_request', /code_verifier is required/);
    expectOAuthError(await exchange(api, app, 'no-such-code', pkce().verifier), 400, 'invalid_grant', /unknown/);
    expectOAuthError(await oauthPost(api, '/oauth/token', { grant_type: 'password', username: 'a', password: 'b' }, basic), 400, 'unsupported_grant_type');
    expectOAuthError(await oauthPost(api, '/oauth/token', {}, basic), 400, 'invalid_request', /grant_type is required/);
    const json = await api.app.request('/oauth/token', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ grant_type: 'refresh_token' }) });
    expect(json.status).toBe(400);
    expect(await json.json()).toMatchObject({ error: 'invalid_request' });
    const twice = await api.app.request('/oauth/token', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `client_id=${app.clientId}&client_id=${app.clientId}&grant_type=refresh_token`,
    });
    expect(await twice.json()).toMatchObject({ error: 'invalid_request', error_description: 'client_id is repeated' });
  });
});

describe('client authentication', () => {
  it('confidential: Basic or body; a wrong, missing or doubled secret is refused with 401', async () => {
    const { owner } = await setup();
    const app = await registerApp(api, owner);
    const grant = { grant_type: 'refresh_token', refresh_token: 'mhr_x' };
    // Authenticated, then the grant itself fails: proves the client passed.
    expectOAuthError(await oauthPost(api, '/oauth/token', grant, [app.clientId, app.secret!]), 400, 'invalid_grant');
    expectOAuthError(await oauthPost(api, '/oauth/token', { ...grant, client_id: app.clientId, client_secret: app.secret! }), 400, 'invalid_grant');
    for (const res of [
      await oauthPost(api, '/oauth/token', grant, [app.clientId, 'mhcs_wrong']),
      await oauthPost(api, '/oauth/token', { ...grant, client_id: app.clientId, client_secret: 'mhcs_wrong' }),
      await oauthPost(api, '/oauth/token', { ...grant, client_id: app.clientId }),
      await oauthPost(api, '/oauth/token', { ...grant, client_id: 'mhc_unknown', client_secret: 'x' }),
      await oauthPost(api, '/oauth/token', grant),
    ]) {
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="mailhook"/);
    }
    expectOAuthError(await oauthPost(api, '/oauth/token', { ...grant, client_secret: app.secret! }, [app.clientId, app.secret!]), 400, 'invalid_request', /not both/);
  });

  it('a public client that sends a secret is refused; with client_id alone it works', async () => {
    const { owner, b } = await setup();
    const app = await registerApp(api, owner, { confidential: false });
    expect(app.secret).toBeNull();
    const { verifier, challenge } = pkce();
    const code = await approveCode(b, app, challenge);
    const fields = { grant_type: 'authorization_code', code, redirect_uri: app.redirectUri, code_verifier: verifier };
    expectOAuthError(await oauthPost(api, '/oauth/token', { ...fields, client_id: app.clientId, client_secret: 'anything' }), 401, 'invalid_client', /public client/);
    expectOAuthError(await oauthPost(api, '/oauth/token', fields, [app.clientId, 'anything']), 401, 'invalid_client', /public client/);
    const ok = await oauthPost(api, '/oauth/token', { ...fields, client_id: app.clientId });
    expect(ok.status).toBe(200);
    expect((await messages(ok.body.access_token)).status).toBe(200);
  });
});

describe('refresh_token grant', () => {
  async function connected(b: Browserish, owner: string, scope = 'messages:read domains:read') {
    return connect(api, owner, b, { scope });
  }

  it('rotates: a new pair each time, the old refresh token no longer usable', async () => {
    const { owner, b } = await setup();
    const { app, tokens } = await connected(b, owner);
    const next = await refreshWith(api, app, tokens.refresh_token);
    expect(next.status).toBe(200);
    expect(next.headers.get('cache-control')).toBe('no-store');
    expect(next.body.refresh_token).not.toBe(tokens.refresh_token);
    expect(next.body.access_token).not.toBe(tokens.access_token);
    expect(next.body.scope).toBe('messages:read domains:read');
    expect((await messages(next.body.access_token)).status).toBe(200);
    const again = await refreshWith(api, app, next.body.refresh_token);
    expect(again.status).toBe(200);
  });

  it('presenting a rotated refresh token revokes the whole family', async () => {
    const { owner, b } = await setup();
    const { app, tokens } = await connected(b, owner);
    const next = await refreshWith(api, app, tokens.refresh_token);
    expectOAuthError(await refreshWith(api, app, tokens.refresh_token), 400, 'invalid_grant', /already used; every token of this grant is revoked/);
    for (const t of [tokens.access_token, next.body.access_token]) expect((await messages(t)).status).toBe(401);
    expectOAuthError(await refreshWith(api, app, next.body.refresh_token), 400, 'invalid_grant');
  });

  it('may narrow the scope, never widen it', async () => {
    const { owner, b } = await setup();
    const { app, tokens } = await connected(b, owner);
    expectOAuthError(await refreshWith(api, app, tokens.refresh_token, { scope: 'messages:read routes:write' }), 400, 'invalid_scope', /routes:write/);
    expectOAuthError(await refreshWith(api, app, tokens.refresh_token, { scope: '*' }), 400, 'invalid_scope');
    const narrow = await refreshWith(api, app, tokens.refresh_token, { scope: 'messages:read' });
    expect(narrow.body.scope).toBe('messages:read');
    expect((await api.call('GET', '/api/domains', { token: narrow.body.access_token })).status).toBe(403);
    // The refresh token keeps what the user approved (RFC 6749 §6).
    const wide = await refreshWith(api, app, narrow.body.refresh_token);
    expect(wide.body.scope).toBe('messages:read domains:read');
  });

  it('refuses another client’s refresh token', async () => {
    const { owner, b } = await setup();
    const { tokens } = await connected(b, owner);
    const other = await registerApp(api, owner, { name: 'Other' });
    expectOAuthError(await refreshWith(api, other, tokens.refresh_token), 400, 'invalid_grant', /another client/);
  });
});

describe('access tokens on the API', () => {
  it('expire after an hour (401); refreshing gives a working one', async () => {
    const { owner, b } = await setup();
    const { app, tokens } = await connect(api, owner, b);
    clock.advance(3600_000 - 1);
    expect((await messages(tokens.access_token)).status).toBe(200);
    clock.advance(1);
    const expired = await messages(tokens.access_token);
    expect(expired.status).toBe(401);
    expect(expired.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    const next = await refreshWith(api, app, tokens.refresh_token);
    expect((await messages(next.body.access_token)).status).toBe(200);
  });

  it('stop working when the app is deleted: API 401, refresh invalid_client', async () => {
    const { owner, b } = await setup();
    const { app, tokens } = await connect(api, owner, b);
    expect((await api.call('DELETE', `/api/apps/${app.id}`, { token: owner })).status).toBe(204);
    expect((await messages(tokens.access_token)).status).toBe(401);
    expectOAuthError(await refreshWith(api, app, tokens.refresh_token), 401, 'invalid_client');
  });
});

describe('POST /oauth/revoke (RFC 7009)', () => {
  it('revokes an access token alone; a refresh token takes its whole family', async () => {
    const { owner, b } = await setup();
    const { app, tokens } = await connect(api, owner, b);
    const basic: [string, string] = [app.clientId, app.secret!];
    const res = await oauthPost(api, '/oauth/revoke', { token: tokens.access_token, token_type_hint: 'access_token' }, basic);
    expect(res.status).toBe(200);
    expect((await messages(tokens.access_token)).status).toBe(401);
    const next = await refreshWith(api, app, tokens.refresh_token);
    expect((await messages(next.body.access_token)).status).toBe(200);
    expect((await oauthPost(api, '/oauth/revoke', { token: next.body.refresh_token }, basic)).status).toBe(200);
    expect((await messages(next.body.access_token)).status).toBe(401);
    expectOAuthError(await refreshWith(api, app, next.body.refresh_token), 400, 'invalid_grant');
  });

  it('answers 200 for an unknown token, refuses another client’s token and an unauthenticated client', async () => {
    const { owner, b } = await setup();
    const { app, tokens } = await connect(api, owner, b);
    const basic: [string, string] = [app.clientId, app.secret!];
    expect((await oauthPost(api, '/oauth/revoke', { token: 'mho_unknown' }, basic)).status).toBe(200);
    const other = await registerApp(api, owner, { name: 'Other' });
    expectOAuthError(await oauthPost(api, '/oauth/revoke', { token: tokens.access_token }, [other.clientId, other.secret!]), 400, 'unauthorized_client');
    expectOAuthError(await oauthPost(api, '/oauth/revoke', { token: tokens.access_token }, [app.clientId, 'wrong']), 401, 'invalid_client');
    expectOAuthError(await oauthPost(api, '/oauth/revoke', {}, basic), 400, 'invalid_request', /token is required/);
    expect((await messages(tokens.access_token)).status).toBe(200);
  });
});

describe('connected apps', () => {
  it('lists what the user approved, with scopes and last use; revoking is 401 on the app’s next call', async () => {
    const { owner, b } = await setup();
    const { app, tokens } = await connect(api, owner, b, { scope: 'messages:read' });
    clock.advance(5 * 60_000);
    expect((await messages(tokens.access_token)).status).toBe(200);
    const list = await api.call('GET', '/api/connected-apps', { token: b.token });
    expect(list.body).toEqual({ data: [{ app_id: app.id, name: 'Acme Helpdesk', scopes: ['messages:read'], approved_at: clock.now() - 5 * 60_000, last_used_at: clock.now() }] });
    expect((await api.call('GET', '/api/connected-apps', { token: owner })).body.data).toEqual([]);
    expect((await api.call('DELETE', `/api/connected-apps/${app.id}`, { token: owner })).status).toBe(404);
    expect((await api.call('DELETE', `/api/connected-apps/${app.id}`, { token: b.token })).status).toBe(204);
    expect((await messages(tokens.access_token)).status).toBe(401);
    expectOAuthError(await refreshWith(api, app, tokens.refresh_token), 400, 'invalid_grant');
    expect((await api.call('GET', '/api/connected-apps', { token: b.token })).body.data).toEqual([]);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After past 120 token requests a minute from one address', async () => {
    const { owner } = await setup();
    const app = await registerApp(api, owner);
    const basic: [string, string] = [app.clientId, app.secret!];
    for (let i = 0; i < 120; i++) expect((await oauthPost(api, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x' }, basic)).status).toBe(400);
    const limited = await oauthPost(api, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x' }, basic);
    expectOAuthError(limited, 429, 'temporarily_unavailable');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect((await oauthPost(api, '/oauth/revoke', { token: 'x' }, basic)).status).toBe(429);
    clock.advance(60_000);
    expect((await oauthPost(api, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x' }, basic)).status).toBe(400);
  });
});

describe('GET /.well-known/oauth-authorization-server (RFC 8414)', () => {
  it('describes the endpoints, PKCE S256 only and the client authentication methods', async () => {
    await setup();
    const res = await api.call('GET', '/.well-known/oauth-authorization-server');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      issuer: 'http://127.0.0.1:3000',
      authorization_endpoint: 'http://127.0.0.1:3000/oauth/authorize',
      token_endpoint: 'http://127.0.0.1:3000/oauth/token',
      revocation_endpoint: 'http://127.0.0.1:3000/oauth/revoke',
      response_types_supported: ['code'],
      grant_types_supported: ['authorization_code', 'refresh_token'],
      code_challenge_methods_supported: ['S256'],
      token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
      authorization_response_iss_parameter_supported: true,
    });
    expect(res.body.scopes_supported).toContain('messages:read');
  });
});

describe('request bodies', () => {
  it('over 16 KiB are refused with 413 in the RFC format, with or without Content-Length', async () => {
    await setup();
    const big = `grant_type=refresh_token&refresh_token=${'x'.repeat(17 * 1024)}`;
    const declared = await api.app.request('/oauth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: big });
    expect(declared.status).toBe(413);
    expect(await declared.json()).toMatchObject({ error: 'invalid_request' });
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(big));
        c.close();
      },
    });
    const chunked = await api.app.request('/oauth/token', { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: stream, duplex: 'half' } as RequestInit);
    expect(chunked.status).toBe(413);
  });
});
