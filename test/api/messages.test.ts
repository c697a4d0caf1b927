import { afterEach, describe, expect, it } from 'vitest';
import { newId } from '../../src/ids.js';
import { BlobNotFoundError } from '../../src/store/blob-store.js';
import { fakeClock } from '../helpers/deps.js';
import { storeMessage } from '../helpers/messages.js';
import { addDomain, signup, testApi, type TestApi } from '../helpers/api.js';

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
    const t0 = api.deps.repos.messages.get(owner.userId, ids[1]!)!.receivedAt;
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
    api.deps.repos.deliveries.insert({ id: dlv, userId: owner.userId, messageId: msg.id, routeId: null, url: 'https://h.example.net/x', secret: 'whsec_x' }, clock.now());
    const [claimed] = api.deps.repos.deliveries.claim([dlv], clock.now(), clock.now() + 30_000);
    api.deps.repos.deliveries.finish(dlv, claimed!.attemptId, {
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
    api.deps.repos.deliveries.insert({ id: dlv, userId: owner.userId, messageId: msg.id, routeId: null, url: 'https://h.example.net/x', secret: 'whsec_x' }, api.deps.now());
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
