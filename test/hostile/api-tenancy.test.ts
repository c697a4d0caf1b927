import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { addDomain, createKey, markVerified, signup, testApi, type TestApi } from '../helpers/api.js';
import { storeMessage } from '../helpers/messages.js';

/**
 * DESIGN §1 invariant 4: one tenant never sees another's data. For every route that takes an
 * id, Alice's id in Bob's hands answers exactly what a random id does, byte for byte, and
 * leaves Alice's data as it was; no list filter ever returns Alice's rows to Bob. A key
 * restricted to one domain is a tenant of its own within its account.
 */
let api: TestApi;
interface Tenant {
  token: string;
  domainId: string;
  otherDomainId: string;
  routeId: string;
  messageId: string;
  deliveryId: string;
  keyId: string;
}
let alice: Tenant;
let bob: Tenant;

async function tenant(name: string): Promise<Tenant> {
  const { token, user } = await signup(api);
  const domain = await addDomain(api, token, `${name}.test`);
  const other = await addDomain(api, token, `${name}-two.test`);
  await markVerified(api, domain.id);
  const route = await api.call('POST', '/api/routes', {
    token,
    body: { domain_id: domain.id, match: `*@${name}.test`, action: 'webhook', destination: `http://127.0.0.1:9/${name}` },
  });
  expect(route.status).toBe(201);
  await api.call('PUT', `/api/domains/${domain.id}/webhook`, { token, body: { url: `http://127.0.0.1:9/${name}-catch-all` } });
  const msg = await storeMessage(api.deps, { userId: user.id, domainId: domain.id }, { attachments: [{ filename: 'a.txt', content: Buffer.from(name) }] });
  const deliveryId = newId('dlv');
  await api.deps.repos.deliveries.insert(
    { id: deliveryId, userId: user.id, messageId: msg.id, routeId: route.body.id, domainId: domain.id, url: `http://127.0.0.1:9/${name}`, secret: 'whsec_x' },
    api.deps.now(),
  );
  // Fails forever without the clock moving: the retry must not be requeued by someone else.
  api.deps.db.prepare("UPDATE deliveries SET status = 'failed', next_attempt_at = NULL WHERE id = ?").run(deliveryId);
  const { key } = await createKey(api, token, ['*']);
  return { token, domainId: domain.id, otherDomainId: other.id, routeId: route.body.id, messageId: msg.id, deliveryId, keyId: key.id };
}

beforeAll(async () => {
  api = testApi();
  alice = await tenant('alice');
  bob = await tenant('bob');
});
afterAll(() => api.deps.cleanup());

/** [method, path with {id}, id kind, body] for every route that names a resource in its path. */
const BY_ID: [string, string, keyof Tenant, unknown][] = [
  ['GET', '/api/domains/{id}', 'domainId', undefined],
  ['DELETE', '/api/domains/{id}', 'domainId', undefined],
  ['POST', '/api/domains/{id}/verify', 'domainId', undefined],
  ['PUT', '/api/domains/{id}/webhook', 'domainId', { url: 'http://127.0.0.1:9/stolen' }],
  ['DELETE', '/api/domains/{id}/webhook', 'domainId', undefined],
  ['POST', '/api/domains/{id}/webhook/test', 'domainId', undefined],
  ['GET', '/api/routes/{id}', 'routeId', undefined],
  ['PATCH', '/api/routes/{id}', 'routeId', { destination: 'http://127.0.0.1:9/stolen' }],
  ['DELETE', '/api/routes/{id}', 'routeId', undefined],
  ['GET', '/api/messages/{id}', 'messageId', undefined],
  ['GET', '/api/messages/{id}/raw', 'messageId', undefined],
  ['DELETE', '/api/messages/{id}', 'messageId', undefined],
  ['GET', '/api/deliveries/{id}', 'deliveryId', undefined],
  ['POST', '/api/deliveries/{id}/retry', 'deliveryId', undefined],
  ['DELETE', '/api/keys/{id}', 'keyId', undefined],
];
const PREFIX: Record<string, 'dom' | 'rte' | 'msg' | 'dlv' | 'key'> = {
  domainId: 'dom',
  routeId: 'rte',
  messageId: 'msg',
  deliveryId: 'dlv',
  keyId: 'key',
};

/** Everything of Alice's, as Alice sees it: must be the same before and after Bob's attempts. */
async function aliceSnapshot(): Promise<string> {
  const paths = [
    `/api/domains/${alice.domainId}`,
    `/api/routes/${alice.routeId}`,
    `/api/deliveries/${alice.deliveryId}`,
    '/api/keys',
    '/api/messages',
  ];
  const out: unknown[] = [];
  for (const p of paths) {
    const r = await api.call('GET', p, { token: alice.token });
    expect(r.status, p).toBe(200);
    out.push(r.body);
  }
  const m = await api.call('GET', `/api/messages/${alice.messageId}`, { token: alice.token });
  expect(m.status).toBe(200);
  // Attachment links are signed when served; everything else must not move.
  out.push({ ...m.body, attachments: m.body.attachments.map((a: { url: string }) => ({ ...a, url: null })), raw_url: null });
  return JSON.stringify(out);
}

describe("another tenant's id is a random id", () => {
  let before: string;
  beforeAll(async () => {
    before = await aliceSnapshot();
  });

  it.each(BY_ID)('%s %s: 404, byte-identical to a random id, and nothing of hers changes', async (method, path, kind, body) => {
    const theirs = await api.call(method, path.replace('{id}', alice[kind]), { token: bob.token, body });
    const random = await api.call(method, path.replace('{id}', newId(PREFIX[kind]!)), { token: bob.token, body });
    const garbage = await api.call(method, path.replace('{id}', 'not-an-id'), { token: bob.token, body });
    expect(theirs.status).toBe(404);
    expect(theirs.text).toBe(random.text);
    expect(garbage.text).toBe(random.text);
    expect(theirs.headers.get('content-type')).toBe(random.headers.get('content-type'));
    expect(await aliceSnapshot()).toBe(before);
  });

  it('ids in request bodies are scoped too', async () => {
    const cases: [string, string, unknown][] = [
      ['POST', '/api/routes', { domain_id: alice.domainId, match: '*@alice.test', action: 'store' }],
      ['POST', '/api/routes/test', { domain_id: alice.domainId, recipient: 'x@alice.test' }],
      ['POST', '/api/routes/test', { domain_id: bob.domainId, message_id: alice.messageId }],
      ['POST', '/api/keys', { name: 'steal', scopes: ['*'], domain_id: alice.domainId }],
    ];
    for (const [method, path, body] of cases) {
      const res = await api.call(method, path, { token: bob.token, body });
      expect(res.status, `${path} ${JSON.stringify(body)}`).toBe(404);
    }
    expect(await aliceSnapshot()).toBe(before);
  });

  it("list filters never return another tenant's rows", async () => {
    const lists = [
      `/api/messages?domain_id=${alice.domainId}`,
      '/api/messages?recipient=x@example.com&domain_id=' + alice.domainId,
      '/api/messages?from=a@sender.test&domain_id=' + alice.domainId,
      `/api/routes?domain_id=${alice.domainId}`,
      `/api/deliveries?message_id=${alice.messageId}`,
      `/api/deliveries?route_id=${alice.routeId}`,
      `/api/deliveries?before=${newId('dlv', Date.now() + 60_000)}&message_id=${alice.messageId}`,
    ];
    for (const path of lists) {
      const res = await api.call('GET', path, { token: bob.token });
      expect(res.status, path).toBe(200);
      expect(res.body, path).toEqual({ data: [], next_cursor: null });
    }
    // Unfiltered lists hold only Bob's own rows.
    const all = JSON.stringify(
      await Promise.all(['/api/domains', '/api/routes', '/api/messages', '/api/deliveries', '/api/keys'].map((p) => api.call('GET', p, { token: bob.token }))).then((rs) =>
        rs.map((r) => r.body),
      ),
    );
    for (const id of [alice.domainId, alice.otherDomainId, alice.routeId, alice.messageId, alice.deliveryId, alice.keyId]) expect(all).not.toContain(id);
    expect(all).not.toContain('alice');
  });

  it("a cursor naming another tenant's id pages only through one's own rows", async () => {
    const res = await api.call('GET', `/api/messages?before=${alice.messageId}`, { token: bob.token });
    expect(res.status).toBe(200);
    for (const m of res.body.data as { id: string }[]) expect((await api.deps.repos.messages.getById(m.id))!.domainId).toBe(bob.domainId);
  });
});

describe('a key restricted to one domain', () => {
  let restricted: string;
  let otherMessage: string;
  beforeAll(async () => {
    restricted = (await createKey(api, bob.token, ['*'], bob.domainId)).secret;
    await markVerified(api, bob.otherDomainId);
    const owner = (await api.deps.repos.domains.getById(bob.otherDomainId))!;
    otherMessage = (await storeMessage(api.deps, { userId: owner.userId, domainId: owner.id })).id;
  });

  it("sees the account's other domain exactly as it sees a random id", async () => {
    const pairs: [string, string][] = [
      [`/api/domains/${bob.otherDomainId}`, `/api/domains/${newId('dom')}`],
      [`/api/messages/${otherMessage}`, `/api/messages/${newId('msg')}`],
      [`/api/messages/${otherMessage}/raw`, `/api/messages/${newId('msg')}/raw`],
    ];
    for (const [theirs, random] of pairs) {
      const a = await api.call('GET', theirs, { token: restricted });
      const b = await api.call('GET', random, { token: restricted });
      expect(a.status, theirs).toBe(404);
      expect(a.text).toBe(b.text);
    }
    const listed = await api.call('GET', `/api/messages?domain_id=${bob.otherDomainId}`, { token: restricted });
    expect(listed.body).toEqual({ data: [], next_cursor: null });
    const all = await api.call('GET', '/api/messages', { token: restricted });
    expect(all.body.data.map((m: { id: string }) => m.id)).not.toContain(otherMessage);
    const domains = await api.call('GET', '/api/domains', { token: restricted });
    expect(domains.body.data.map((d: { id: string }) => d.id)).toEqual([bob.domainId]);
    const routes = await api.call('POST', '/api/routes', { token: restricted, body: { domain_id: bob.otherDomainId, match: '*@bob-two.test', action: 'store' } });
    expect(routes.status).toBe(404);
    const dry = await api.call('POST', '/api/routes/test', { token: restricted, body: { domain_id: bob.domainId, message_id: otherMessage } });
    expect(dry.status).toBe(404);
  });

  it('cannot mint keys, add domains or reach account endpoints', async () => {
    expect((await api.call('POST', '/api/keys', { token: restricted, body: { name: 'x', scopes: ['*'] } })).status).toBe(403);
    expect((await api.call('POST', '/api/domains', { token: restricted, body: { name: 'new-one.test' } })).status).toBe(403);
    expect((await api.call('GET', '/api/auth/me', { token: restricted })).status).toBe(403);
  });
});

describe('domain names are not a side door', () => {
  it("adding Alice's verified domain gives Bob a pending copy that never receives her mail or her data", async () => {
    const res = await api.call('POST', '/api/domains', { token: bob.token, body: { name: 'ALICE.test.' } });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ name: 'alice.test', status: 'pending', webhook: null });
    // The verified holder of the name is still Alice's domain, and only hers receives.
    expect((await api.deps.repos.domains.findVerified('alice.test'))!.id).toBe(alice.domainId);
    const list = await api.call('GET', `/api/messages?domain_id=${res.body.id}`, { token: bob.token });
    expect(list.body.data).toEqual([]);
  });
});
