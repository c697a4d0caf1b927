import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer.js';
import { signup, testApi, type TestApi } from '../helpers/api.js';

const CLIENT_ID = 'mailhook-test.apps.example';
const CLIENT_SECRET = 'test-client-secret';
const REDIRECT = 'http://127.0.0.1:3000/auth/google/callback';

let issuer: OidcIssuer;
let api: TestApi;
let codes = 0;
beforeAll(async () => {
  issuer = await startOidcIssuer(CLIENT_ID, CLIENT_SECRET);
});
afterAll(() => issuer.close());
afterEach(() => api?.deps.cleanup());

const googleApi = () =>
  testApi({ GOOGLE_CLIENT_ID: CLIENT_ID, GOOGLE_CLIENT_SECRET: CLIENT_SECRET, GOOGLE_ISSUER: issuer.issuer });

function code(claims: Record<string, unknown>, opts?: { sign?: 'other' }): string {
  const c = `code-${++codes}`;
  issuer.addCode(c, claims, opts);
  return c;
}

const signIn = (c: string, redirect_uri = REDIRECT) => api.call('POST', '/api/auth/google', { body: { code: c, redirect_uri } });

describe('POST /api/auth/google', () => {
  it('exchanges the code, verifies the id_token and creates a password-less account', async () => {
    api = googleApi();
    const res = await signIn(code({ sub: 'g-1', email: 'New.User@Gmail.com', email_verified: true }));
    expect(res.status).toBe(200);
    expect(res.body.token).toMatch(/^mhs_/);
    expect(res.body.user).toMatchObject({ email: 'new.user@gmail.com', google_linked: true });
    const form = issuer.tokenRequests.at(-1)!;
    expect(Object.fromEntries(form)).toMatchObject({ grant_type: 'authorization_code', redirect_uri: REDIRECT, client_id: CLIENT_ID });
    expect((await api.call('GET', '/api/auth/me', { token: res.body.token })).body.user.id).toBe(res.body.user.id);
    // The same Google account signs into the same Mailhook account, whatever its email says now.
    const again = await signIn(code({ sub: 'g-1', email: 'renamed@gmail.com', email_verified: true }));
    expect(again.body.user.id).toBe(res.body.user.id);
    // A Google-only account has no password to log in with.
    const login = await api.call('POST', '/api/auth/login', { body: { email: 'new.user@gmail.com', password: 'anything at all' } });
    expect(login.status).toBe(401);
  });

  it('never merges into an existing password account with the same email (pre-hijacking)', async () => {
    api = googleApi();
    const { user, email, password } = await signup(api);
    const res = await signIn(code({ sub: 'g-link', email, email_verified: true }));
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/sign in with its password/);
    expect((await api.deps.repos.users.get(user.id))!.googleSub).toBeNull();
    expect((await api.call('POST', '/api/auth/login', { body: { email, password } })).status).toBe(200);
  });

  it('refuses a token for another audience', async () => {
    api = googleApi();
    const res = await signIn(code({ sub: 'g-2', email: 'a@gmail.com', email_verified: true, aud: 'someone-else' }));
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/aud/);
  });

  it('refuses an unverified email', async () => {
    api = googleApi();
    const { email } = await signup(api);
    const res = await signIn(code({ sub: 'g-3', email, email_verified: false }));
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(/not verified/);
    expect((await api.deps.repos.users.getByEmail(email))!.googleSub).toBeNull();
  });

  it('refuses an expired token', async () => {
    api = googleApi();
    const now = Math.floor(Date.now() / 1000);
    const res = await signIn(code({ sub: 'g-4', email: 'b@gmail.com', email_verified: true, iat: now - 7200, exp: now - 3600 }));
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/exp/);
  });

  it('refuses a token from another issuer or signed with an unpublished key', async () => {
    api = googleApi();
    const wrongIss = await signIn(code({ sub: 'g-5', email: 'c@gmail.com', email_verified: true, iss: 'https://evil.example' }));
    expect(wrongIss.status).toBe(401);
    const wrongKey = await signIn(code({ sub: 'g-6', email: 'c@gmail.com', email_verified: true }, { sign: 'other' }));
    expect(wrongKey.status).toBe(401);
    expect(await api.deps.repos.users.getByEmail('c@gmail.com')).toBeNull();
  });

  it('answers 400 for a code the issuer rejects and for a malformed body', async () => {
    api = googleApi();
    const unknown = await signIn('never-issued');
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatch(/invalid_grant/);
    const bad = await api.call('POST', '/api/auth/google', { body: { code: 'x', redirect_uri: 'not a url' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^redirect_uri: /);
  });

  it('answers 404 when Google sign-in is not configured', async () => {
    api = testApi();
    const res = await signIn('anything');
    expect(res.status).toBe(404);
    expect(res.body.error).toMatch(/not configured/);
  });

  it('answers 502 when the issuer is unreachable', async () => {
    api = testApi({ GOOGLE_CLIENT_ID: CLIENT_ID, GOOGLE_CLIENT_SECRET: CLIENT_SECRET, GOOGLE_ISSUER: 'http://127.0.0.1:1' });
    const res = await signIn('anything');
    expect(res.status).toBe(502);
  });
});
