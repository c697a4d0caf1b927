import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { anonymousPost, ORIGIN, PASSWORD, signUpInBrowser, testApi, type Browserish, type TestApi } from './web-client.js';

/**
 * Issue 11, item 1: `next` after sign-in. Browsers strip tabs and newlines from a Location
 * (WHATWG URL), so anything that is not a plain path on this site must not come back as one.
 */
const HOSTILE = [
  '/\t/evil.example/x',
  '/\n/evil.example/x',
  '/\r\n/evil.example/x',
  '/%09/evil.example/x',
  '/.//evil.example/x',
  '/./\\evil.example',
  '/\u0000/evil.example',
  '//evil.example/x',
  '/\\evil.example',
  'https://evil.example',
];

/** Where a browser on the dashboard ends up after following `location`. */
const landsOn = (location: string) => new URL(location.replace(/[\t\n\r]/g, ''), ORIGIN);

let api: TestApi;
let b: Browserish;
beforeAll(async () => {
  api = testApi();
  b = await signUpInBrowser(api);
});
afterAll(() => api.deps.cleanup());

describe('next after sign-in', () => {
  it.each(HOSTILE)('signed in, GET /login?next=%j stays on this site (303, never a 500)', async (next) => {
    const res = await b.get(`/login?next=${encodeURIComponent(next)}`);
    expect(res.status).toBe(303);
    expect(res.location).not.toMatch(/[\p{Cc}]/u);
    expect(landsOn(res.location!).origin).toBe(ORIGIN);
    expect(res.location).not.toMatch(/^\/[/\\]/);
  });

  it.each(HOSTILE)('POST /login with next=%j stays on this site', async (next) => {
    const res = await anonymousPost(api, '/login', { email: b.email, password: PASSWORD, next });
    expect(res.status).toBe(303);
    expect(landsOn(res.location!).origin).toBe(ORIGIN);
    expect(res.location).not.toMatch(/[\p{Cc}]|^\/[/\\]/u);
  });

  it('the examples of the report: /<TAB>/evil.example/x and /<LF>/x go to /domains', async () => {
    expect((await b.get('/login?next=/%09/evil.example/x')).location).toBe('/domains');
    expect((await b.get('/login?next=/%0a/x')).location).toBe('/domains');
  });

  it('a path on this site still comes back, query and non-ASCII included (normalised)', async () => {
    expect((await b.get(`/login?next=${encodeURIComponent('/messages?domain_id=dom_1')}`)).location).toBe('/messages?domain_id=dom_1');
    expect((await b.get(`/login?next=${encodeURIComponent('/messages?q=ü')}`)).location).toBe('/messages?q=%C3%BC');
  });
});
