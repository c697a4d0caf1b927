import { afterEach, describe, expect, it } from 'vitest';
import { connect } from '../helpers/oauth.js';
import { escapeHtml, signUpInBrowser, testApi, textOf, type TestApi } from '../web/web-client.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

describe('the Apps page', () => {
  it('registers an app, shows the secret once, shows the API’s message by the field, deletes', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    expect((await b.get('/apps')).text).toContain('No apps');

    const bad = await b.post('/apps', { name: 'Acme', redirect_uris: 'https://acme.example/cb\nhttp://acme.example/cb', confidential: 'true' });
    expect(bad.status).toBe(400);
    expect(textOf(bad.text, 'f-redirect_uris-error')).toBe(escapeHtml('must be https (plain http only for loopback: 127.0.0.1, [::1], localhost, per RFC 8252)'));
    expect(bad.text).toContain('http://acme.example/cb</textarea>');

    const ok = await b.post('/apps', { name: 'Acme', redirect_uris: 'https://acme.example/cb\r\n\r\nhttp://127.0.0.1/cb\r\n', confidential: 'true' });
    expect(ok.status).toBe(200);
    const secret = textOf(ok.text, 'new-client-secret')!;
    expect(secret).toMatch(/^mhcs_/);
    const [app] = (await api.call('GET', '/api/apps', { token: b.token })).body.data;
    expect(app).toMatchObject({ name: 'Acme', confidential: true, redirect_uris: ['https://acme.example/cb', 'http://127.0.0.1/cb'] });
    const list = await b.get('/apps');
    expect(list.text).toContain(app.client_id);
    expect(list.text).not.toContain(secret);

    const publicApp = await b.post('/apps', { name: 'CLI', redirect_uris: 'http://127.0.0.1/cb' });
    expect(textOf(publicApp.text, 'new-client-secret')).toBeNull();
    expect(publicApp.text).toContain('A public client');

    const del = await b.post(`/apps/${app.id}/delete`, {});
    expect(del.status).toBe(303);
    expect((await api.call('GET', `/api/apps/${app.id}`, { token: b.token })).status).toBe(404);
    // Another account's app: the 404 page, and it stays.
    const other = await signUpInBrowser(api);
    const [cli] = (await api.call('GET', '/api/apps', { token: b.token })).body.data;
    expect((await other.post(`/apps/${cli.id}/delete`, {})).status).toBe(404);
    expect((await api.call('GET', `/api/apps/${cli.id}`, { token: b.token })).status).toBe(200);
  });
});

describe('the Connected apps page', () => {
  it('lists approved apps with scopes; Revoke makes the app’s next call 401', async () => {
    api = testApi();
    const owner = await signUpInBrowser(api);
    const b = await signUpInBrowser(api);
    expect((await b.get('/connected-apps')).text).toContain('No connected apps');
    const { app, tokens } = await connect(api, owner.token, b, { scope: 'messages:read routes:read' });
    const page = await b.get('/connected-apps');
    expect(page.text).toContain('Acme Helpdesk');
    expect(page.text).toContain('messages:read, routes:read');
    expect((await api.call('GET', '/api/messages', { token: tokens.access_token })).status).toBe(200);
    expect((await b.post(`/connected-apps/${app.id}/revoke`, {}, { csrf: null })).status).toBe(403);
    expect((await api.call('GET', '/api/messages', { token: tokens.access_token })).status).toBe(200);
    const res = await b.post(`/connected-apps/${app.id}/revoke`, {});
    expect(res.status).toBe(303);
    expect(res.location).toBe('/connected-apps');
    expect((await api.call('GET', '/api/messages', { token: tokens.access_token })).status).toBe(401);
    expect((await b.get('/connected-apps')).text).toContain('No connected apps');
  });
});
