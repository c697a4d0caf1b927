import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SCOPES } from '../../src/auth/api-keys.js';
import { addDomain, createKey, signup, testApi, type TestApi } from '../helpers/api.js';
import { ENDPOINTS } from './endpoints.js';

let api: TestApi;
let session: string;
let domainId: string;
const keys = new Map<string, string>();
beforeAll(async () => {
  api = testApi();
  session = (await signup(api)).token;
  domainId = (await addDomain(api, session)).id;
  for (const scope of SCOPES) keys.set(scope, (await createKey(api, session, [scope])).secret);
  // Every scope but the one needed, to show none of the others stands in for it.
  for (const scope of SCOPES) {
    if (scope !== '*') keys.set(`all but ${scope}`, (await createKey(api, session, SCOPES.filter((s) => s !== scope && s !== '*'))).secret);
  }
});
afterAll(() => api.deps.cleanup());

const url = (path: string) => path.replace('{id}', path.startsWith('/api/domains') ? domainId : 'xyz_unknown').replace('{address}', 'nobody@example.org');
const body = { name: 'scope-test.example' };

describe('access to every endpoint', () => {
  it.each(ENDPOINTS)('%s %s: 401 with no credential', async (method, path) => {
    const res = await api.call(method, url(path), { body: method === 'GET' || method === 'DELETE' ? undefined : body });
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ error: expect.any(String) });
  });

  it.each(ENDPOINTS)('%s %s: 403 for a key without the scope (%s)', async (method, path, needs) => {
    const token = needs === 'session' ? keys.get('*')! : keys.get(`all but ${needs}`)!;
    const res = await api.call(method, url(path), { token, body: method === 'GET' || method === 'DELETE' ? undefined : body });
    expect(res.status).toBe(403);
    expect(res.body.error).toMatch(needs === 'session' ? /session/ : new RegExp(needs));
  });

  it.each(ENDPOINTS.filter(([, , needs]) => needs !== 'session'))('%s %s: allowed with %s or *', async (method, path, needs) => {
    for (const token of [keys.get(needs)!, keys.get('*')!]) {
      const res = await api.call(method, url(path), { token, body: method === 'GET' || method === 'DELETE' ? undefined : body });
      expect([401, 403]).not.toContain(res.status);
    }
  });
});
