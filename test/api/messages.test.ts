import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { BlobNotFoundError } from '../../src/store/blob-store.js';
import { fakeClock } from '../helpers/deps.js';
import { storeMessage } from '../helpers/messages.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { addDomain, createKey, markVerified, signup, testApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

async function setup() {
  const clock = fakeClock();
  api = testApi({}, { now: clock.now });
  const s = await signup(api);
  const d = await addDomain(api, s.token, 'example.com');
  return { ...s, clock, domain: d, owner: { userId: s.user.id, domainId: d.id } };
}

describe('messages', () => {
  it('lists newest first with cursor pagination and filters', async () => {
    const { token, owner, clock, domain } = await setup();
    const d2 = await addDomain(api, token, 'two.example');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      ids.push((await storeMessage(api.deps, i === 4 ? { ...owner, domainId: d2.id } : owner)).id);
    }
    const all = await api.call('GET', '/api/messages?limit=3', { token });
    expect(all.status).toBe(200);
    expect(all.body.data.map((m: { id: string }) => m.id)).toEqual([ids[4], ids[3], ids[2]]);
    expect(all.body.next_cursor).toBe(ids[2]);
    const rest = await api.call('GET', `/api/messages?limit=3&before=${all.body.next_cursor}`, { token });
    expect(rest.body).toEqual({ data: [expect.objectContaining({ id: ids[1] }), expect.objectContaining({ id: ids[0] })], next_cursor: null });
    expect(all.body.data[0]).toMatchObject({ domain_id: d2.id, subject: 'stored', from: { address: 'a@sender.test' }, envelope: { rcpt_to: ['x@example.com'] } });
    expect(all.body.data[0].text).toBeUndefined();

    const q = async (query: string) => (await api.call('GET', `/api/messages?${query}`, { token })).body.data.map((m: { id: string }) => m.id);
    expect(await q(`domain_id=${domain.id}`)).toEqual([ids[3], ids[2], ids[1], ids[0]]);
    expect(await q('recipient=X@example.com')).toHaveLength(5);
    expect(await q('recipient=y@example.com')).toEqual([]);
    expect(await q('from=a@sender.test')).toHaveLength(5);
    expect(await q('from=b@sender.test')).toEqual([]);
    const t0 = (await api.deps.repos.messages.get(owner.userId, ids[1]!))!.receivedAt;
    expect(await q(`since=${t0}&until=${t0 + 2000}`)).toEqual([ids[2], ids[1]]);
    for (const bad of ['since=yesterday', 'until=-1', 'limit=500']) {
      const res = await api.call('GET', `/api/messages?${bad}`, { token });
      expect(res.status, bad).toBe(400);
      expect(res.body.error).toMatch(new RegExp(`^${bad.split('=')[0]}: `));
    }
  });

  it('gets one message with attachments (fresh signed links), raw_url and deliveries with attempts', async () => {
    const { token, owner, clock } = await setup();
    const msg = await storeMessage(api.deps, owner, { attachments: [{ filename: 'a.pdf', content: Buffer.from('%PDF'), contentType: 'application/pdf' }] });
    const dlv = newId('dlv', clock.now());
    await api.deps.repos.deliveries.insert({ id: dlv, userId: owner.userId, messageId: msg.id, routeId: null, domainId: owner.domainId, url: 'https://h.example.net/x', secret: 'whsec_x' }, clock.now());
    const [claimed] = await api.deps.repos.deliveries.claim([dlv], clock.now(), clock.now() + 30_000);
    await api.deps.repos.deliveries.finish(dlv, claimed!.attemptId, {
      finishedAt: clock.now() + 5,
      statusCode: 500,
      latencyMs: 5,
      responseBody: 'nope',
      error: null,
      status: 'pending',
      nextAttemptAt: clock.now() + 30_000,
    });
    const res = await api.call('GET', `/api/messages/${msg.id}`, { token });
    expect(res.status).toBe(200);
    const m = res.body;
    expect(m).toMatchObject({ id: msg.id, subject: 'stored', size: msg.raw.length, received_at: clock.now(), parse_error: null });
    expect(m.envelope).toEqual({ mail_from: 'a@sender.test', rcpt_to: ['x@example.com'], helo: 'c.test', remote_ip: '127.0.0.1', tls: false });
    expect(m.attachments).toEqual([
      expect.objectContaining({ index: 0, filename: 'a.pdf', content_type: 'application/pdf', size: 4, url: expect.stringMatching(/^http:\/\/127\.0\.0\.1:3000\/att\/msg_.+\/0\?exp=\d+&sig=/) }),
    ]);
    expect(m.raw_url).toMatch(/\/att\/msg_.+\/raw\?exp=/);
    expect(m.deliveries).toEqual([
      expect.objectContaining({ id: dlv, status: 'pending', attempt_count: 1, last_status: 500, attempts: [expect.objectContaining({ status_code: 500, response_body: 'nope', latency_ms: 5 })] }),
    ]);
    expect(JSON.stringify(m.deliveries)).not.toContain('whsec_');
    // The signed link works without a credential.
    const att = await api.app.request(m.attachments[0].url.replace('http://127.0.0.1:3000', ''));
    expect(att.status).toBe(200);
    expect(await att.text()).toBe('%PDF');
  });

  it('downloads the raw .eml', async () => {
    const { token, owner } = await setup();
    const msg = await storeMessage(api.deps, owner);
    const res = await api.app.request(`/api/messages/${msg.id}/raw`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('message/rfc822');
    expect(res.headers.get('content-disposition')).toBe(`attachment; filename="${msg.id}.eml"`);
    expect(Buffer.from(await res.arrayBuffer()).equals(msg.raw)).toBe(true);
    await api.deps.blobs.delete(`msg/${msg.id}/raw.eml`);
    expect((await api.call('GET', `/api/messages/${msg.id}/raw`, { token })).status).toBe(410);
  });

  it('deletes the row, its deliveries and its blobs', async () => {
    const { token, owner } = await setup();
    const msg = await storeMessage(api.deps, owner, { attachments: [{ filename: 'a.txt', content: Buffer.from('a') }, { filename: 'b.txt', content: Buffer.from('b') }] });
    const dlv = newId('dlv');
    await api.deps.repos.deliveries.insert({ id: dlv, userId: owner.userId, messageId: msg.id, routeId: null, domainId: owner.domainId, url: 'https://h.example.net/x', secret: 'whsec_x' }, api.deps.now());
    expect((await api.call('DELETE', `/api/messages/${msg.id}`, { token })).status).toBe(204);
    expect((await api.call('GET', `/api/messages/${msg.id}`, { token })).status).toBe(404);
    expect((await api.call('GET', `/api/deliveries/${dlv}`, { token })).status).toBe(404);
    for (const key of [`msg/${msg.id}/raw.eml`, ...msg.attachments.map((a) => a.blobKey)]) {
      await expect(api.deps.blobs.get(key)).rejects.toBeInstanceOf(BlobNotFoundError);
    }
    expect((await api.call('DELETE', `/api/messages/${msg.id}`, { token })).status).toBe(404);
  });

  it("another user's message is 404 everywhere, like a random id", async () => {
    const { owner } = await setup();
    const msg = await storeMessage(api.deps, owner);
    const bob = await signup(api);
    for (const [method, suffix] of [['GET', ''], ['GET', '/raw'], ['DELETE', '']] as const) {
      const theirs = await api.call(method, `/api/messages/${msg.id}${suffix}`, { token: bob.token });
      const random = await api.call(method, `/api/messages/msg_01jdzzzzzzzzzzzzzzzzzzzzzz${suffix}`, { token: bob.token });
      expect(theirs.status).toBe(404);
      expect(theirs.text).toBe(random.text);
    }
    expect((await api.call('GET', '/api/messages', { token: bob.token })).body.data).toEqual([]);
    expect((await api.call('GET', `/api/messages?domain_id=${owner.domainId}`, { token: bob.token })).body.data).toEqual([]);
  });
});

describe("a message to recipients at two of an account's domains", () => {
  let multi: TestApi;
  let smtp: RunningSmtp;
  let token: string;
  let one: string;
  let two: string;
  let three: string;
  let messageId: string;
  const ids = async (query: string, as = token) => {
    const res = await multi.call('GET', `/api/messages?${query}`, { token: as });
    expect(res.status, query).toBe(200);
    return res.body.data.map((m: { id: string }) => m.id) as string[];
  };
  beforeAll(async () => {
    multi = testApi();
    smtp = await startSmtp(multi.deps);
    token = (await signup(multi)).token;
    const domain = async (name: string) => {
      const { id } = await addDomain(multi, token, name);
      await markVerified(multi, id);
      const route = await multi.call('POST', '/api/routes', {
        token,
        body: { domain_id: id, match: `*@${name}`, action: 'webhook', destination: `http://127.0.0.1:9/${name}` },
      });
      expect(route.status).toBe(201);
      return id;
    };
    [one, two, three] = [await domain('one.test'), await domain('two.test'), await domain('three.test')];
    // Two recipients at two.test: the message must still be listed once under it.
    const sent = await smtp.transport.sendMail({ from: 'shop@sender.test', to: ['a@one.test', 'b@two.test', 'c@two.test'], subject: 'Both', text: 'hi' });
    expect(sent.accepted).toHaveLength(3);
    messageId = (await ids(''))[0]!;
  });
  afterAll(async () => {
    await smtp.close();
    multi.deps.cleanup();
  });

  it('is stored once and listed once under each domain it was addressed to', async () => {
    expect(await ids('')).toEqual([messageId]);
    expect(await ids(`domain_id=${one}`)).toEqual([messageId]);
    expect(await ids(`domain_id=${two}`)).toEqual([messageId]);
    expect(await ids(`domain_id=${three}`)).toEqual([]);
    expect(await ids(`domain_id=${two}&recipient=a@one.test`)).toEqual([messageId]);
    expect(await ids(`domain_id=${two}&from=shop@sender.test`)).toEqual([messageId]);
    expect(await ids(`domain_id=${three}&from=shop@sender.test`)).toEqual([]);
    const [summary] = (await multi.call('GET', '/api/messages', { token })).body.data;
    expect(summary).toMatchObject({ domain_id: one, domain_ids: [one, two], envelope: { rcpt_to: ['a@one.test', 'b@two.test', 'c@two.test'] } });
    const full = await multi.call('GET', `/api/messages/${messageId}`, { token });
    expect(full.body).toMatchObject({ domain_id: one, domain_ids: [one, two] });
    expect(full.body.deliveries.map((d: { url: string }) => d.url).sort()).toEqual(['http://127.0.0.1:9/one.test', 'http://127.0.0.1:9/two.test']);
  });

  it('a key restricted to either domain lists, gets and downloads it; it sees its own domain’s deliveries', async () => {
    const raw = await multi.call('GET', `/api/messages/${messageId}/raw`, { token });
    expect(raw.status).toBe(200);
    for (const [domainId, name] of [[one, 'one.test'], [two, 'two.test']] as const) {
      const key = (await createKey(multi, token, ['messages:read'], domainId)).secret;
      expect(await ids('', key)).toEqual([messageId]);
      expect(await ids(`domain_id=${domainId}`, key)).toEqual([messageId]);
      const got = await multi.call('GET', `/api/messages/${messageId}`, { token: key });
      expect(got.status).toBe(200);
      expect(got.body).toMatchObject({ id: messageId, subject: 'Both', domain_ids: [one, two] });
      expect(got.body.deliveries.map((d: { url: string }) => d.url)).toEqual([`http://127.0.0.1:9/${name}`]);
      const rawByKey = await multi.call('GET', `/api/messages/${messageId}/raw`, { token: key });
      expect(rawByKey.status).toBe(200);
      expect(rawByKey.text).toBe(raw.text);
    }
  });

  it('a key restricted to a third domain of the account, or another account, gets exactly what a missing id gets', async () => {
    const third = (await createKey(multi, token, ['*'], three)).secret;
    const bob = (await signup(multi)).token;
    for (const as of [third, bob]) {
      for (const [method, suffix] of [['GET', ''], ['GET', '/raw'], ['DELETE', '']] as const) {
        const theirs = await multi.call(method, `/api/messages/${messageId}${suffix}`, { token: as });
        const random = await multi.call(method, `/api/messages/${newId('msg')}${suffix}`, { token: as });
        expect(theirs.status).toBe(404);
        expect(theirs.text).toBe(random.text);
      }
      expect(await ids('', as)).toEqual([]);
      for (const domainId of [one, two]) expect(await ids(`domain_id=${domainId}`, as)).toEqual([]);
      expect(await ids('recipient=b@two.test', as)).toEqual([]);
    }
    const dry = await multi.call('POST', '/api/routes/test', { token: third, body: { domain_id: three, message_id: messageId } });
    expect(dry.status).toBe(404);
    expect((await multi.call('GET', `/api/messages/${messageId}`, { token })).status).toBe(200);
  });

  it('a key restricted to one of its domains can dry-run it against that domain’s routes', async () => {
    const key = (await createKey(multi, token, ['routes:read'], two)).secret;
    const dry = await multi.call('POST', '/api/routes/test', { token: key, body: { domain_id: two, message_id: messageId } });
    expect(dry.status).toBe(200);
    expect(dry.body.results.map((r: { recipient: string }) => r.recipient)).toEqual(['b@two.test', 'c@two.test']);
  });

  it('a key restricted to one domain cannot delete it (403) while it is also another domain’s; one that can see all its domains can', async () => {
    const key = (await createKey(multi, token, ['messages:read', 'messages:write'], two)).secret;
    const refused = await multi.call('DELETE', `/api/messages/${messageId}`, { token: key });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatch(/another domain/);
    expect((await multi.call('GET', `/api/messages/${messageId}`, { token: key })).status).toBe(200);

    // Mail to two.test alone is all that key's to delete.
    await smtp.transport.sendMail({ from: 'shop@sender.test', to: ['b@two.test'], subject: 'Only two', text: 'hi' });
    const [only] = await ids(`domain_id=${two}&limit=1`);
    expect(only).not.toBe(messageId);
    expect((await multi.call('DELETE', `/api/messages/${only}`, { token: key })).status).toBe(204);

    const unrestricted = (await createKey(multi, token, ['messages:write'])).secret;
    expect((await multi.call('DELETE', `/api/messages/${messageId}`, { token: unrestricted })).status).toBe(204);
    expect(await ids('')).toEqual([]);
  });
});
