import { afterEach, describe, expect, it } from 'vitest';
import { markVerified } from '../helpers/api.js';
import { anonymousGet, escapeHtml, signUpInBrowser, testApi, textOf, type TestApi } from './web-client.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

/** Every visible control has a <label for> (or sits inside a <label>): keyboard and screen-reader use. */
function unlabelled(html: string): string[] {
  const out: string[] = [];
  for (const m of html.matchAll(/<(input|select|textarea)\b([^>]*)>/g)) {
    const attrs = m[2]!;
    if (/type="(hidden|submit)"/.test(attrs)) continue;
    const id = /\bid="([^"]+)"/.exec(attrs)?.[1];
    const wrapped = html.slice(Math.max(0, m.index! - 120), m.index!).lastIndexOf('<label class="check">') !== -1;
    if (!wrapped && (!id || !html.includes(`for="${id}"`))) out.push(m[0]);
  }
  return out;
}

describe('forms show the API’s own messages next to the field', () => {
  it('domain name', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const apiError = (await api.call('POST', '/api/domains', { token: b.token, body: { name: 'not a domain' } })).body.error as string;
    const res = await b.post('/domains', { name: 'not a domain' });
    expect(res.status).toBe(400);
    expect(apiError).toMatch(/^name: /);
    expect(textOf(res.text, 'f-name-error')).toBe(apiError.replace(/^name: /, ''));
    expect(res.text).toContain('aria-invalid="true"');
    expect(res.text).toContain('value="not a domain"');
    // A conflict names no field; on a one-field form it still sits by the field.
    await b.post('/domains', { name: 'dup.example' });
    const dup = await b.post('/domains', { name: 'dup.example' });
    expect(dup.status).toBe(409);
    expect(textOf(dup.text, 'f-name-error')).toBe('you already added dup.example');
  });

  it('route pattern, destination and filters; a valid route is created', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const domain = (await api.call('POST', '/api/domains', { token: b.token, body: { name: 'routes.example' } })).body;
    const base = { action: 'webhook', destination: 'http://127.0.0.1:4000/hook', priority: '10', enabled: 'on' };
    const bad = await b.post(`/domains/${domain.id}/routes`, { ...base, match: 'a@other.example' });
    expect(bad.status).toBe(400);
    const apiError = (await api.call('POST', '/api/routes', { token: b.token, body: { domain_id: domain.id, match: 'a@other.example', action: 'webhook', destination: base.destination } })).body.error as string;
    expect(textOf(bad.text, 'f-match-error')).toBe(escapeHtml(apiError.replace(/^match: /, '')));

    const noUrl = await b.post(`/domains/${domain.id}/routes`, { ...base, match: '*@routes.example', destination: '' });
    expect(textOf(noUrl.text, 'f-destination-error')).toBe('required for webhook routes');
    const filter = await b.post(`/domains/${domain.id}/routes`, { ...base, match: '*@routes.example', header_name: 'Bad Header:' });
    expect(textOf(filter.text, 'f-header-name-error')).toMatch(/^filters\.header\.name must be/);

    const ok = await b.post(`/domains/${domain.id}/routes`, { ...base, match: '*@routes.example', from: '*@stripe.com' });
    expect(ok.status).toBe(303);
    const routes = (await api.call('GET', `/api/routes?domain_id=${domain.id}`, { token: b.token })).body.data;
    expect(routes).toEqual([expect.objectContaining({ match: '*@routes.example', priority: 10, stop: false, filters: { from: '*@stripe.com' } })]);

    // Edit: switching to "store" drops the URL; unchecking "enabled" disables.
    const edit = await b.post(`/domains/${domain.id}/routes/${routes[0].id}`, { match: '*@routes.example', action: 'store', destination: base.destination, priority: '5' });
    expect(edit.status).toBe(303);
    const after = (await api.call('GET', `/api/routes/${routes[0].id}`, { token: b.token })).body;
    expect(after).toMatchObject({ action: 'store', destination: null, priority: 5, enabled: false, filters: null });
  });
});

describe('pages', () => {
  it('tell a newcomer what to do next', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    expect((await b.get('/domains')).text).toContain('No domains yet');
    expect((await b.get('/messages')).text).toContain('adding a domain');
    expect((await b.get('/keys')).text).toContain('No API keys');
    const domain = (await api.call('POST', '/api/domains', { token: b.token, body: { name: 'new.example' } })).body;
    const detail = (await b.get(`/domains/${domain.id}`)).text;
    expect(detail).toContain('Publish both records');
    expect(detail).toContain('Next: create a route');
    expect((await b.get(`/domains/${domain.id}/routes`)).text).toContain('No routes yet');
  });

  it('label every control', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const domain = (await api.call('POST', '/api/domains', { token: b.token, body: { name: 'labels.example' } })).body;
    await markVerified(api, domain.id);
    for (const path of ['/domains', `/domains/${domain.id}`, `/domains/${domain.id}/routes`, '/messages', '/keys']) {
      expect(unlabelled((await b.get(path)).text), path).toEqual([]);
    }
    expect(unlabelled((await anonymousGet(api, '/login')).text)).toEqual([]);
  });

  it('show a new API key once', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const res = await b.post('/keys', { name: 'ci', scopes: ['messages:read', 'routes:read'] });
    expect(res.status).toBe(200);
    const secret = textOf(res.text, 'new-key-value') ?? '';
    expect(secret).toMatch(/^mhk_/);
    expect((await api.call('GET', '/api/messages', { token: secret })).status).toBe(200);
    expect((await b.get('/keys')).text).not.toContain(secret);
    const none = await b.post('/keys', { name: 'no scopes' });
    expect(none.status).toBe(400);
    expect(textOf(none.text, 'f-scopes-error') ?? none.text).toMatch(/scopes/i);
  });

  it('refuse an oversized form with 413', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const res = await b.post('/domains', { name: 'x'.repeat(1024 * 1024 + 10) });
    expect(res.status).toBe(413);
  });

  it('serve the stylesheet and script from /static with a long cache, and never cache pages', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const page = await b.get('/domains');
    expect(page.headers.get('cache-control')).toBe('no-store');
    const href = /href="(\/static\/app\.css\?v=\w+)"/.exec(page.text)?.[1] ?? '';
    const css = await api.app.request(href);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/text\/css/);
    expect(css.headers.get('cache-control')).toContain('immutable');
  });
});
