import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKey, signup, testApi, type TestApi } from '../helpers/api.js';
import { storeMessage } from '../helpers/messages.js';
import { sendingDomain } from '../helpers/sending.js';

// The lists that take ?domain_id= (routes, blocks, messages, sends): a key restricted to one domain
// lists only that domain, and a filter naming another of the account's domains lists nothing,
// exactly as an unknown id does (DESIGN §1 inv. 4), never that domain's rows.
let api: TestApi;
let session: string;
let restricted: string;
const own = { domainId: '' };
const other = { domainId: '' };
beforeAll(async () => {
  api = testApi();
  const { token, user } = await signup(api);
  session = token;
  for (const [d, name] of [[own, 'own.test'], [other, 'other.test']] as const) {
    d.domainId = (await sendingDomain(api, token, name)).id;
    const route = await api.call('POST', '/api/routes', { token, body: { domain_id: d.domainId, match: `*@${name}`, action: 'store' } });
    expect(route.status).toBe(201);
    const block = await api.call('POST', '/api/blocks', { token, body: { domain_id: d.domainId, pattern: `*@spam.${name}` } });
    expect(block.status).toBe(201);
    await storeMessage(api.deps, { userId: user.id, domainId: d.domainId });
    const send = await api.call('POST', '/v1/send', { token, body: { from: `me@${name}`, to: ['x@dest.test'], subject: 'hi', text: 'hi' } });
    expect(send.status).toBe(202);
  }
  restricted = (await createKey(api, token, ['*'], own.domainId)).secret;
});
afterAll(() => api.deps.cleanup());

const LISTS = ['/api/routes', '/api/blocks', '/api/messages', '/api/sends'];
const domainsOf = (body: { data: { domain_id: string }[] }) => body.data.map((row) => row.domain_id);

describe('?domain_id= on the lists', () => {
  it.each(LISTS)('%s: a restricted key lists its own domain, with or without the filter', async (path) => {
    for (const url of [path, `${path}?domain_id=${own.domainId}`]) {
      const res = await api.call('GET', url, { token: restricted });
      expect(res.status).toBe(200);
      expect(domainsOf(res.body)).toEqual([own.domainId]);
    }
  });

  it.each(LISTS)('%s: a restricted key filtering by another domain gets the empty page, not its rows', async (path) => {
    const res = await api.call('GET', `${path}?domain_id=${other.domainId}`, { token: restricted });
    expect(res.status).toBe(200);
    expect(res.text).toBe('{"data":[],"next_cursor":null}');
    expect(res.headers.get('content-type')).toBe('application/json');
  });

  it.each(LISTS)('%s: a session filters by any of its domains', async (path) => {
    const res = await api.call('GET', `${path}?domain_id=${other.domainId}`, { token: session });
    expect(domainsOf(res.body)).toEqual([other.domainId]);
    expect((await api.call('GET', path, { token: session })).body.data).toHaveLength(2);
  });
});
