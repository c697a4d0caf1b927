import { afterEach, describe, expect, it } from 'vitest';
import { markVerified } from '../helpers/api.js';
import { storeMessage } from '../helpers/messages.js';
import { escapeHtml, signUpInBrowser, testApi, textOf, type TestApi } from './web-client.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

describe('dashboard: blocked senders', () => {
  it('lists blocks, adds one with the API’s validation, and unblocks', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const empty = await b.get('/blocks');
    expect(empty.status).toBe(200);
    expect(empty.text).toContain('No blocked senders');

    const bad = await b.post('/blocks', { pattern: 'not a pattern', domain_id: '' });
    expect(bad.status).toBe(400);
    const apiError = (await api.call('POST', '/api/blocks', { token: b.token, body: { pattern: 'not a pattern' } })).body.error as string;
    expect(textOf(bad.text, 'f-pattern-error')).toBe(escapeHtml(apiError.replace(/^pattern: /, '')));

    const ok = await b.post('/blocks', { pattern: '*@Spam.Example', domain_id: '' });
    expect(ok.status).toBe(303);
    const page = await b.get('/blocks');
    expect(page.text).toContain('<code>*@spam.example</code>');
    expect(page.text).toContain('all domains');
    const [block] = (await api.call('GET', '/api/blocks', { token: b.token })).body.data;
    expect((await b.post(`/blocks/${block.id}/delete`, {})).status).toBe(303);
    expect((await api.call('GET', '/api/blocks', { token: b.token })).body.data).toEqual([]);
  });

  it('"Block sender" on a message page blocks its From address for the account', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const domain = (await api.call('POST', '/api/domains', { token: b.token, body: { name: 'example.com' } })).body;
    await markVerified(api, domain.id);
    const me = (await api.call('GET', '/api/auth/me', { token: b.token })).body.user;
    const { id } = await storeMessage(api.deps, { userId: me.id, domainId: domain.id });
    const page = await b.get(`/messages/${id}`);
    expect(page.text).toContain(`action="/messages/${id}/block-sender"`);
    expect(page.text).toContain('Block sender');
    const res = await b.post(`/messages/${id}/block-sender`, {});
    expect(res.status).toBe(303);
    expect(res.location).toBe('/blocks');
    const blocks = (await api.call('GET', '/api/blocks', { token: b.token })).body.data;
    expect(blocks).toEqual([expect.objectContaining({ pattern: 'a@sender.test', domain_id: null })]);
    // Twice is fine: already blocked.
    expect((await b.post(`/messages/${id}/block-sender`, {})).status).toBe(303);
  });
});
