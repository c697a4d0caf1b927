import { afterEach, describe, expect, it } from 'vitest';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { authorizeQuery, consentFields, decide, pkce, registerApp, type TestApp } from '../helpers/oauth.js';
import { anonymousGet, anonymousPost, PASSWORD, signUpInBrowser, type Browserish } from '../web/web-client.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

async function setup(redirectUri?: string): Promise<{ b: Browserish; app: TestApp; challenge: string }> {
  api = testApi();
  const owner = await signup(api);
  const app = await registerApp(api, owner.token, { redirectUri });
  const b = await signUpInBrowser(api);
  return { b, app, challenge: pkce().challenge };
}

const codesIssued = () => (api.deps.db.prepare('SELECT COUNT(*) AS n FROM oauth_codes').get() as { n: number }).n;

describe('GET /oauth/authorize', () => {
  it('sends a signed-out visitor to sign in, then back to the consent page', async () => {
    const { app, challenge } = await setup();
    const query = authorizeQuery(app, challenge);
    const first = await anonymousGet(api, `/oauth/authorize?${query}`);
    expect(first.status).toBe(303);
    expect(first.location).toBe(`/login?next=${encodeURIComponent(`/oauth/authorize?${query}`)}`);
    const login = await anonymousGet(api, first.location!);
    expect(login.text).toContain(`name="next" value="/oauth/authorize?${query.replace(/&/g, '&amp;')}"`);

    const email = 'consent-login@example.org';
    await api.call('POST', '/api/auth/signup', { body: { email, password: PASSWORD } });
    const signedIn = await anonymousPost(api, '/login', { email, password: PASSWORD, next: `/oauth/authorize?${query}` });
    expect(signedIn.status).toBe(303);
    expect(signedIn.location).toBe(`/oauth/authorize?${query}`);
    const cookie = (signedIn.headers.get('set-cookie') ?? '').split(';')[0]!;
    const consent = await api.app.request(signedIn.location!, { headers: { cookie } });
    expect(consent.status).toBe(200);
    expect(await consent.text()).toContain('Authorize Acme Helpdesk');
  });

  it('reports a request that cannot succeed before asking a signed-out visitor to sign in', async () => {
    const { app, challenge } = await setup();
    const unknown = await anonymousGet(api, `/oauth/authorize?${authorizeQuery({ ...app, clientId: 'mhc_unknown' }, challenge)}`);
    expect(unknown.status).toBe(400);
    expect(unknown.location).toBeNull();
    const unregistered = await anonymousGet(api, `/oauth/authorize?${authorizeQuery({ ...app, redirectUri: 'https://evil.example/cb' }, challenge)}`);
    expect(unregistered.status).toBe(400);
    expect(unregistered.location).toBeNull();
    const plain = await anonymousGet(api, `/oauth/authorize?${authorizeQuery(app, challenge, { code_challenge_method: 'plain', state: 's1' })}`);
    expect(plain.status).toBe(302);
    expect(plain.location).toMatch(/^https:\/\/app\.example\/callback\?error=invalid_request&.*state=s1/);
  });

  it('shows the app, each scope in plain words and the account; its CSP lets the form lead back to the app only', async () => {
    const { b, app, challenge } = await setup('https://app.example:8443/callback?tenant=7');
    const res = await b.get(`/oauth/authorize?${authorizeQuery(app, challenge, { scope: 'messages:read deliveries:write' })}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('Authorize Acme Helpdesk');
    expect(res.text).toContain(b.email);
    expect(res.text).toContain('Read the email your domains receive, attachments included');
    expect(res.text).toContain('Retry webhook deliveries');
    const csp = res.headers.get('content-security-policy')!;
    expect(csp).toMatch(/form-action 'self' https:\/\/app\.example:8443;/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(csp).toMatch(/script-src 'nonce-[^']+'/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(consentFields(res.text)._csrf).toBeTruthy();
  });

  it('describes every scope in plain words: send, and * (which includes sending), too', async () => {
    const { b, app, challenge } = await setup();
    const send = await b.get(`/oauth/authorize?${authorizeQuery(app, challenge, { scope: 'send' })}`);
    expect(send.status).toBe(200);
    expect(send.text).toContain('Send email from your verified domains');
    const all = await b.get(`/oauth/authorize?${authorizeQuery(app, challenge, { scope: '*' })}`);
    expect(all.status).toBe(200);
    expect(all.text).toMatch(/Everything the API allows: [^<]*send email/);
  });

  it('shows an error page, never a redirect, for an unknown client or an unregistered redirect URI', async () => {
    const { b, app, challenge } = await setup();
    const cases = [
      authorizeQuery({ ...app, clientId: 'mhc_unknown' }, challenge),
      authorizeQuery(app, challenge, { client_id: null }),
      authorizeQuery({ ...app, redirectUri: 'https://evil.example/callback' }, challenge),
      authorizeQuery({ ...app, redirectUri: 'https://app.example/callback/' }, challenge),
      authorizeQuery(app, challenge, { redirect_uri: null }),
      `${authorizeQuery(app, challenge)}&redirect_uri=${encodeURIComponent(app.redirectUri)}`,
      // Otherwise wrong too: still no redirect while the redirect URI is not trusted.
      authorizeQuery({ ...app, redirectUri: 'https://evil.example/callback' }, challenge, { code_challenge_method: 'plain' }),
    ];
    for (const q of cases) {
      const res = await b.get(`/oauth/authorize?${q}`);
      expect(res.status, q).toBe(400);
      expect(res.location, q).toBeNull();
      expect(res.text).not.toContain('evil.example/callback?');
    }
  });

  it.each([
    [{ code_challenge_method: 'plain' }, 'invalid_request', /S256/],
    [{ code_challenge_method: null }, 'invalid_request', /S256/],
    [{ code_challenge: null }, 'invalid_request', /code_challenge is required/],
    [{ code_challenge: 'short' }, 'invalid_request', /43/],
    [{ response_type: 'token' }, 'unsupported_response_type', /code/],
    [{ scope: 'messages:read admin' }, 'invalid_scope', /unknown scope admin/],
    [{ scope: null }, 'invalid_scope', /required/],
  ])('redirects back with the error and state for %o', async (extra, error, description) => {
    const { b, app, challenge } = await setup();
    const query = authorizeQuery(app, challenge, { ...extra, state: 'xyz 1/2' });
    const res = await b.get(`/oauth/authorize?${query}`);
    expect(res.status).toBe(302);
    const url = new URL(res.location!);
    expect(`${url.origin}${url.pathname}`).toBe(app.redirectUri);
    expect(url.searchParams.get('error')).toBe(error);
    expect(url.searchParams.get('error_description')).toMatch(description);
    expect(url.searchParams.get('state')).toBe('xyz 1/2');
    expect(url.searchParams.get('iss')).toBe('http://127.0.0.1:3000');
    expect(url.searchParams.has('code')).toBe(false);
  });
});

describe('POST /oauth/authorize (the decision)', () => {
  it('Approve redirects (303) with a code, state and iss; Deny with access_denied and no code', async () => {
    const { b, app, challenge } = await setup();
    const approved = await decide(b, authorizeQuery(app, challenge, { state: 'abc' }), 'approve');
    expect(approved.status).toBe(303);
    const url = new URL(approved.location!);
    expect(url.searchParams.get('code')).toMatch(/^[\w-]{43}$/);
    expect(url.searchParams.get('state')).toBe('abc');
    expect(url.searchParams.get('iss')).toBe('http://127.0.0.1:3000');
    const denied = await decide(b, authorizeQuery(app, challenge, { state: 'abc' }), 'deny');
    expect(denied.status).toBe(303);
    const d = new URL(denied.location!);
    expect(d.searchParams.get('error')).toBe('access_denied');
    expect(d.searchParams.get('state')).toBe('abc');
    expect(d.searchParams.has('code')).toBe(false);
    expect(codesIssued()).toBe(1);
  });

  it('refuses a decision posted without the CSRF token, with another session’s, or from another origin', async () => {
    const { b, app, challenge } = await setup();
    const page = await b.get(`/oauth/authorize?${authorizeQuery(app, challenge)}`);
    const { _csrf, ...fields } = consentFields(page.text);
    const other = await signUpInBrowser(api);
    for (const [csrf, origin] of [
      [null, undefined],
      [await other.csrf(), undefined],
      [_csrf!, 'https://evil.example'],
      [_csrf!, null],
    ] as const) {
      const res = await b.post('/oauth/authorize', { ...fields, decision: 'approve' }, { csrf, origin });
      expect(res.status).toBe(403);
      expect(res.location).toBeNull();
    }
    expect(codesIssued()).toBe(0);
    // The same form with its token, from this origin, goes through.
    expect((await b.post('/oauth/authorize', { ...fields, decision: 'approve' }, { csrf: _csrf })).status).toBe(303);
    expect(codesIssued()).toBe(1);
  });

  it('checks the posted fields again: a tampered redirect URI is an error page', async () => {
    const { b, app, challenge } = await setup();
    const page = await b.get(`/oauth/authorize?${authorizeQuery(app, challenge)}`);
    const { _csrf, ...fields } = consentFields(page.text);
    const res = await b.post('/oauth/authorize', { ...fields, redirect_uri: 'https://evil.example/cb', decision: 'approve' }, { csrf: _csrf });
    expect(res.status).toBe(400);
    expect(res.location).toBeNull();
    expect(codesIssued()).toBe(0);
  });
});
