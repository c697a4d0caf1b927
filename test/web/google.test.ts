import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startOidcIssuer, type OidcIssuer } from '../helpers/oidc-issuer.js';
import { anonymousGet, testApi, type TestApi } from './web-client.js';

const CLIENT_ID = 'mailhook-web.apps.example';
const CLIENT_SECRET = 'web-client-secret';

let issuer: OidcIssuer;
let api: TestApi;
beforeAll(async () => {
  issuer = await startOidcIssuer(CLIENT_ID, CLIENT_SECRET);
});
afterAll(() => issuer.close());
afterEach(() => api?.deps.cleanup());

const googleApi = () => testApi({ GOOGLE_CLIENT_ID: CLIENT_ID, GOOGLE_CLIENT_SECRET: CLIENT_SECRET, GOOGLE_ISSUER: issuer.issuer });
const cookieValue = (set: string, name: string) => new RegExp(`${name}=([^;]*)`).exec(set)?.[1] ?? null;

describe('Sign in with Google', () => {
  it('is not offered when GOOGLE_CLIENT_ID is not set', async () => {
    api = testApi();
    expect((await anonymousGet(api, '/login')).text).not.toContain('Sign in with Google');
    expect((await anonymousGet(api, '/auth/google')).status).toBe(404);
  });

  it('sends the browser to the issuer with a state, and signs in on the way back', async () => {
    api = googleApi();
    expect((await anonymousGet(api, '/login')).text).toContain('href="/auth/google"');
    const start = await anonymousGet(api, '/auth/google');
    expect(start.status).toBe(302);
    const to = new URL(start.location ?? '');
    expect(`${to.origin}${to.pathname}`).toBe(`${issuer.issuer}/auth`);
    expect(Object.fromEntries(to.searchParams)).toMatchObject({
      client_id: CLIENT_ID,
      redirect_uri: 'http://127.0.0.1:3000/auth/google/callback',
      response_type: 'code',
      scope: 'openid email',
    });
    const setState = start.headers.get('set-cookie') ?? '';
    expect(setState).toMatch(/HttpOnly/);
    const state = to.searchParams.get('state')!;
    expect(cookieValue(setState, 'mh_oauth_state')).toBe(state);

    issuer.addCode('good-code', { sub: 'g-web', email: 'web@gmail.com', email_verified: true });
    const back = await api.app.request(`/auth/google/callback?code=good-code&state=${state}`, { headers: { cookie: `mh_oauth_state=${state}` } });
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toBe('/domains');
    const token = cookieValue(back.headers.get('set-cookie') ?? '', 'mh_session') ?? '';
    expect((await api.call('GET', '/api/auth/me', { token })).body.user).toMatchObject({ email: 'web@gmail.com', google_linked: true });
  });

  it('refuses a callback whose state is not this browser’s (login CSRF)', async () => {
    api = googleApi();
    issuer.addCode('attacker-code', { sub: 'g-attacker', email: 'attacker@gmail.com', email_verified: true });
    const res = await api.app.request('/auth/google/callback?code=attacker-code&state=abc', { headers: { cookie: 'mh_oauth_state=xyz' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('set-cookie') ?? '').not.toContain('mh_session=mhs_');
    expect(issuer.tokenRequests.some((f) => f.get('code') === 'attacker-code')).toBe(false);
  });
});
