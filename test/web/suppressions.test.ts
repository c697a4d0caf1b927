import { afterEach, describe, expect, it } from 'vitest';
import { signUpInBrowser, testApi, type TestApi } from './web-client.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

describe('dashboard: suppressed addresses', () => {
  it('lists the account’s suppressions (reason, detail, its send), removes one, and never another account’s', async () => {
    api = testApi();
    const b = await signUpInBrowser(api);
    const empty = await b.get('/suppressions');
    expect(empty.status).toBe(200);
    expect(empty.text).toContain('No suppressed addresses');
    expect((await b.get('/sent')).text).toContain('href="/suppressions"');

    const me = (await api.call('GET', '/api/auth/me', { token: b.token })).body.user;
    const repo = api.deps.repos.suppressions;
    await repo.add({ userId: me.id, address: "O'Brien+news@Far.test", reason: 'bounce', detail: '550 5.1.1 no such user', sendId: 'snd_0123' }, Date.now());
    await repo.add({ userId: me.id, address: 'gone@nowhere.test', reason: 'bounce', detail: 'no mail server for nowhere.test', sendId: null }, Date.now());
    const other = await signUpInBrowser(api, 'other@example.org');
    const otherMe = (await api.call('GET', '/api/auth/me', { token: other.token })).body.user;
    await repo.add({ userId: otherMe.id, address: 'theirs@far.test', reason: 'bounce', detail: '550', sendId: null }, Date.now());

    const page = await b.get('/suppressions');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<code>gone@nowhere.test</code>');
    expect(page.text).toContain('550 5.1.1 no such user');
    expect(page.text).toContain('href="/sent/snd_0123"');
    expect(page.text).not.toContain('theirs@far.test');
    // In address order, as the API lists them.
    expect(page.text.indexOf('gone@nowhere.test')).toBeLessThan(page.text.indexOf('o&#39;brien+news@far.test'));

    const action = `/suppressions/${encodeURIComponent("o'brien+news@far.test")}/delete`;
    expect(page.text).toContain(`action="${action.replace(/'/g, '&#39;')}"`);
    const removed = await b.post(action, {});
    expect(removed.status).toBe(303);
    expect(removed.location).toBe('/suppressions');
    expect((await api.call('GET', '/api/suppressions', { token: b.token })).body.data.map((s: { address: string }) => s.address)).toEqual(['gone@nowhere.test']);

    // Another account's address: not found, and still there.
    expect((await b.post(`/suppressions/${encodeURIComponent('theirs@far.test')}/delete`, {})).status).toBe(404);
    expect((await api.call('GET', '/api/suppressions', { token: other.token })).body.data).toHaveLength(1);
  });
});
