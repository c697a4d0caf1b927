import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addDomain } from '../helpers/api.js';
import { signUpInBrowser, testApi, textOf, type Browserish, type TestApi } from './web-client.js';

/**
 * Issue 11, item 6: `mailhook domain verify --force` stored last_check = { forced: true } and the
 * domain page crashed on it (500). last_check is JSON written by several versions: every shape
 * that can be stored must render, and the API must answer it in its own schema's shape.
 */
const SHAPES: [string, unknown][] = [
  ['{ forced: true } (the CLI before this fix)', { forced: true }],
  ['the forced check of the CLI now', { checked_at: 1, ok: true, records: [], forced: true }],
  ['null', null],
  ['an empty object', {}],
  ['records: null', { checked_at: 1, ok: false, records: null }],
  ['records not an array', { checked_at: 1, ok: false, records: 'MX' }],
  ['a record without found', { checked_at: 1, ok: false, records: [{ type: 'MX', name: 'x', expected: 'y', ok: false }] }],
  ['a string', 'checked'],
  ['an array', []],
  ['a real check', { checked_at: 1, ok: false, records: [{ type: 'MX', name: 'd.test', expected: 'mx', found: ['other'], ok: false, error: null }] }],
];

let api: TestApi;
let b: Browserish;
let domainId: string;
beforeAll(async () => {
  api = testApi();
  b = await signUpInBrowser(api);
  domainId = (await addDomain(api, b.token, 'shapes.test')).id;
});
afterAll(() => api.deps.cleanup());

describe('the domain page renders every stored shape of last_check', () => {
  it.each(SHAPES)('%s', async (_, stored) => {
    await api.deps.repos.domains.setStatus(domainId, 'verified', 1_700_000_000_000, stored);
    const page = await b.get(`/domains/${domainId}`);
    expect(page.status).toBe(200);
    expect(textOf(page.text, 'dns')).toBe('DNS records');
    const json = await api.call('GET', `/api/domains/${domainId}`, { token: b.token });
    expect(json.status).toBe(200);
    const check = json.body.last_check as { records?: unknown } | null;
    if (check !== null) expect(Array.isArray(check.records)).toBe(true);
  });

  it('says a forced verification was made without DNS', async () => {
    await api.deps.repos.domains.setStatus(domainId, 'verified', 1_700_000_000_000, { forced: true });
    const page = await b.get(`/domains/${domainId}`);
    expect(page.text).toContain('Marked verified without DNS');
    const json = await api.call('GET', `/api/domains/${domainId}`, { token: b.token });
    expect(json.body.last_check).toEqual({ checked_at: 1_700_000_000_000, ok: true, records: [], forced: true });
  });
});
