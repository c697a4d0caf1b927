import { afterEach, describe, expect, it } from 'vitest';
import { anonymousPost, ORIGIN, PASSWORD, signUpInBrowser, testApi, type TestApi } from './web-client.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

const domainsOf = async (token: string) => (await api.call('GET', '/api/domains', { token })).body.data as unknown[];

describe('CSRF protection on form posts', () => {
  it('refuses a post without the session’s _csrf token (403) and changes nothing', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const res = await b.post('/domains', { name: 'forged.example' }, { csrf: null });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(await domainsOf(b.token)).toEqual([]);
  });

  it('refuses another session’s token and a post from another origin, even with the right token', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const other = await signUpInBrowser(api);
    expect((await b.post('/domains', { name: 'a.example' }, { csrf: await other.csrf() })).status).toBe(403);
    expect((await b.post('/domains', { name: 'a.example' }, { origin: 'https://evil.example' })).status).toBe(403);
    // No Origin and no Sec-Fetch-Site: nothing says the post came from this site.
    expect((await b.post('/domains', { name: 'a.example' }, { origin: null })).status).toBe(403);
    expect(await domainsOf(b.token)).toEqual([]);
  });

  it('accepts the same post with token and origin', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const res = await b.post('/domains', { name: 'ok.example' });
    expect(res.status).toBe(303);
    expect(res.location).toMatch(/^\/domains\/dom_/);
    expect(await domainsOf(b.token)).toHaveLength(1);
  });

  it('refuses a cross-site login or sign-up form (login CSRF), and a JSON body posing as a form', async () => {
    api = testApi();
    const evil = { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' };
    expect((await anonymousPost(api, '/signup', { email: 'x@example.org', password: PASSWORD }, evil)).status).toBe(403);
    expect((await anonymousPost(api, '/login', { email: 'x@example.org', password: PASSWORD }, evil)).status).toBe(403);
    const b = await signUpInBrowser(api);
    const json = await api.app.request('/domains', {
      method: 'POST',
      headers: { cookie: b.cookie, origin: ORIGIN, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'json.example' }),
    });
    expect(json.status).toBe(403);
  });

  it('accepts a same-origin post identified by Sec-Fetch-Site alone', async () => {
    api = testApi();
    const res = await anonymousPost(api, '/signup', { email: 'fetch-site@example.org', password: PASSWORD }, { 'sec-fetch-site': 'same-origin' });
    expect(res.status).toBe(303);
  });
});

describe('the session cookie', () => {
  it('is HttpOnly, SameSite=Lax, Path=/, and not Secure over plain HTTP', async () => {
    api = testApi();
    const res = await anonymousPost(api, '/signup', { email: 'cookie@example.org', password: PASSWORD });
    const set = res.headers.get('set-cookie') ?? '';
    expect(set).toMatch(/^mh_session=mhs_[\w-]+;/);
    expect(set).toMatch(/; HttpOnly/);
    expect(set).toMatch(/; SameSite=Lax/);
    expect(set).toMatch(/; Path=\//);
    expect(set).not.toMatch(/Secure/);
  });

  it('is Secure when PUBLIC_URL is https (TLS ends at a proxy)', async () => {
    api = testApi({ PUBLIC_URL: 'https://mail.example.com' });
    const res = await anonymousPost(api, '/signup', { email: 'tls@example.org', password: PASSWORD }, { origin: 'https://mail.example.com' });
    expect(res.status).toBe(303);
    expect(res.headers.get('set-cookie')).toMatch(/; Secure/);
  });

  it('log out ends the session in the API too, and clears the cookie', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    expect((await api.call('GET', '/api/auth/me', { token: b.token })).status).toBe(200);
    const res = await b.post('/logout', {});
    expect(res.status).toBe(303);
    expect(res.location).toBe('/login');
    expect(res.headers.get('set-cookie')).toMatch(/^mh_session=;.*Max-Age=0/);
    expect((await api.call('GET', '/api/auth/me', { token: b.token })).status).toBe(401);
    expect((await b.get('/domains')).location).toBe('/login?next=%2Fdomains');
  });

  it('sends a signed-out visitor to /login, and back only to a path on this site', async () => {
    api = testApi();
    expect((await api.app.request('/keys')).headers.get('location')).toBe('/login?next=%2Fkeys');
    const email = 'next@example.org';
    await api.call('POST', '/api/auth/signup', { body: { email, password: PASSWORD } });
    const back = await anonymousPost(api, '/login', { email, password: PASSWORD, next: '/keys' });
    expect(back.location).toBe('/keys');
    for (const next of ['//evil.example/x', 'https://evil.example', '/\\evil.example']) {
      expect((await anonymousPost(api, '/login', { email, password: PASSWORD, next })).location).toBe('/domains');
    }
  });
});
