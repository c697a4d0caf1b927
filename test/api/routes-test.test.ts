import { afterEach, describe, expect, it } from 'vitest';
import { storeMessage } from '../helpers/messages.js';
import { addDomain, markVerified, signup, testApi, type TestApi } from '../helpers/api.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

const RAW = [
  'From: Billing <billing@stripe.com>',
  'To: invoices@example.com, someone@elsewhere.test',
  'Cc: support@example.com',
  'Subject: Your invoice #42',
  'X-Priority: 1',
  '',
  'Pay up.',
  '',
].join('\r\n');

async function setup() {
  api = testApi();
  const s = await signup(api);
  const d = await addDomain(api, s.token, 'example.com');
  await markVerified(api, d.id);
  const route = async (body: Record<string, unknown>) =>
    (await api.call('POST', '/api/routes', { token: s.token, body: { domain_id: d.id, ...body } })).body as { id: string };
  const dryRun = (body: Record<string, unknown>) => api.call('POST', '/api/routes/test', { token: s.token, body: { domain_id: d.id, ...body } });
  return { ...s, domain: d, route, dryRun };
}

describe('POST /api/routes/test', () => {
  it('runs a raw message through the routes, per recipient at the domain, with reasons', async () => {
    const { route, dryRun } = await setup();
    const invoices = await route({ match: 'invoices@example.com', action: 'webhook', destination: 'https://h.example.net/i', priority: 10, filters: { from: 'stripe.com' } });
    const all = await route({ match: '*@example.com', action: 'store', priority: 20, stop: true });
    const never = await route({ match: '*@example.com', action: 'drop', priority: 30 });
    const res = await dryRun({ raw: RAW });
    expect(res.status).toBe(200);
    const byRcpt = Object.fromEntries(res.body.results.map((r: { recipient: string }) => [r.recipient, r]));
    expect(Object.keys(byRcpt).sort()).toEqual(['invoices@example.com', 'support@example.com']);
    const inv = byRcpt['invoices@example.com'];
    expect(inv.rcpt).toEqual({ accept: true, code: 250, message: 'accepted' });
    expect(inv.fired.map((f: { route_id: string }) => f.route_id)).toEqual([invoices.id, all.id]);
    expect(inv.fired[0].reason).toMatch(/from billing@stripe.com matches/);
    expect(inv.trace.find((t: { route_id: string }) => t.route_id === never.id)).toMatchObject({ matched: false, reason: expect.stringMatching(/not evaluated/) });
    expect(inv.catch_all).toBeNull();
    const sup = byRcpt['support@example.com'];
    expect(sup.fired.map((f: { route_id: string }) => f.route_id)).toEqual([all.id]);
    expect(sup.trace[0]).toMatchObject({ route_id: invoices.id, matched: false, reason: expect.stringMatching(/does not match/) });
    // Nothing was stored or queued.
    expect((await api.call('GET', '/api/messages', { token: (await signup(api)).token })).body.data).toEqual([]);
    // Through the repository, so this holds on both engines: no message at all, no delivery queued.
    expect(await api.deps.repos.messages.receivedBefore(Number.MAX_SAFE_INTEGER, 1)).toEqual([]);
    expect(await api.deps.repos.deliveries.pendingDestinations()).toEqual([]);
  });

  it('reports the catch-all, a reject route and an unrouted recipient', async () => {
    const { token, domain, route, dryRun } = await setup();
    await route({ match: 'blocked@example.com', action: 'reject' });
    const none = await dryRun({ recipient: 'nobody@example.com' });
    expect(none.body.results[0]).toMatchObject({ fired: [], catch_all: null, rcpt: { accept: false, code: 550 } });
    await api.call('PUT', `/api/domains/${domain.id}/webhook`, { token, body: { url: 'https://catch.example.net/all' } });
    const caught = await dryRun({ recipient: 'Nobody@Example.com' });
    expect(caught.body.results[0]).toMatchObject({ recipient: 'nobody@example.com', catch_all: { url: 'https://catch.example.net/all' }, rcpt: { accept: true } });
    const rejected = await dryRun({ recipient: 'blocked@example.com' });
    expect(rejected.body.results[0].rcpt).toMatchObject({ accept: false, code: 550 });
    const elsewhere = await dryRun({ recipient: 'a@other.test' });
    expect(elsewhere.body.results[0].rcpt).toMatchObject({ accept: false, message: expect.stringMatching(/not at example.com/) });
  });

  it('uses a stored message and its envelope recipients', async () => {
    const { user, domain, route, dryRun } = await setup();
    const r = await route({ match: 'x@example.com', action: 'store', filters: { subject: 'stored' } });
    const msg = await storeMessage(api.deps, { userId: user.id, domainId: domain.id });
    const res = await dryRun({ message_id: msg.id });
    expect(res.status).toBe(200);
    expect(res.body.results).toHaveLength(1);
    expect(res.body.results[0]).toMatchObject({ recipient: 'x@example.com', fired: [{ route_id: r.id }] });
    const other = await signup(api);
    const foreign = await api.call('POST', '/api/routes/test', { token: other.token, body: { domain_id: domain.id, message_id: msg.id } });
    expect(foreign.status).toBe(404);
  });

  it('matches header and subject filters against raw UTF-8 header values (RFC 6532) as the text they are', async () => {
    const { route, dryRun } = await setup();
    const note = await route({ match: '*@example.com', action: 'store', priority: 10, filters: { header: { name: 'X-Note', value: '日本語' } } });
    const subject = await route({ match: '*@example.com', action: 'store', priority: 20, filters: { subject: 'Grüße' } });
    // The dry run takes the message as JSON text: the pasted headers reach the parser as UTF-8 bytes.
    const raw = ['From: a@sender.test', 'To: x@example.com', 'Subject: Grüße aus Köln', 'X-Note: 日本語のメモ', '', 'hi', ''].join('\r\n');
    const res = await dryRun({ raw });
    expect(res.status).toBe(200);
    const [result] = res.body.results;
    expect(result.fired.map((f: { route_id: string }) => f.route_id)).toEqual([note.id, subject.id]);
    expect(result.fired[0].reason).toMatch(/header X-Note matches/);
  });

  it('says an unverified domain refuses every recipient', async () => {
    const { token } = await setup();
    const d2 = await addDomain(api, token, 'pending.example');
    await api.call('POST', '/api/routes', { token, body: { domain_id: d2.id, match: '*@pending.example', action: 'store' } });
    const res = await api.call('POST', '/api/routes/test', { token, body: { domain_id: d2.id, recipient: 'a@pending.example' } });
    expect(res.body.results[0].rcpt).toMatchObject({ accept: false, message: expect.stringMatching(/not verified/) });
    expect(res.body.results[0].fired).toHaveLength(1);
  });

  it('validates its body', async () => {
    const { dryRun, token } = await setup();
    expect((await dryRun({})).body.error).toMatch(/^recipient: required/);
    expect((await dryRun({ raw: 'Subject: x\r\n\r\nno recipients here' })).status).toBe(400);
    expect((await dryRun({ raw: RAW, message_id: 'msg_x' })).body.error).toMatch(/not both/);
    expect((await dryRun({ raw: 42 })).body.error).toMatch(/^raw: /);
    const missing = await api.call('POST', '/api/routes/test', { token, body: { recipient: 'a@example.com' } });
    expect(missing.status).toBe(400);
    expect(missing.body.error).toMatch(/^domain_id: /);
    expect((await dryRun({ message_id: 'msg_01jdzzzzzzzzzzzzzzzzzzzzzz' })).status).toBe(404);
  });

  it('decodes a large body on a parse thread with the same contract: 400 naming the problem, 415, 413', async () => {
    const { dryRun, token, domain } = await setup();
    // Over 64 KiB: decoded and JSON-parsed off the event loop, the message parsed there too.
    const big = RAW.replace('Pay up.', 'Pay up. '.repeat(20_000));
    const ok = await dryRun({ raw: big });
    expect(ok.status).toBe(200);
    expect(ok.body.results.map((r: { recipient: string }) => r.recipient).sort()).toEqual(['invoices@example.com', 'support@example.com']);
    const post = (body: string, headers: Record<string, string> = {}) => api.call('POST', '/api/routes/test', { token, body, headers });
    const cut = await post(JSON.stringify({ domain_id: domain.id, raw: big }).slice(0, -2));
    expect(cut).toMatchObject({ status: 400, body: { error: 'Malformed JSON in request body' } });
    const long = await dryRun({ raw: big, recipient: 'x'.repeat(400) });
    expect(long.status).toBe(400);
    expect(long.body.error).toMatch(/^recipient: /);
    const notString = await dryRun({ raw: 42, recipient: 'a@example.com', pad: 'p'.repeat(100_000) });
    expect(notString.body.error).toMatch(/^raw: /);
    expect((await post(JSON.stringify({ domain_id: domain.id, raw: big, message_id: 'msg_x' }))).body.error).toMatch(/not both/);
    expect((await post(JSON.stringify([big]))).body.error).toMatch(/^body: /);
    expect((await post(JSON.stringify({ domain_id: domain.id, raw: big }), { 'content-type': 'text/plain' })).status).toBe(415);
    const huge = await post(JSON.stringify({ domain_id: domain.id, raw: 'x'.repeat(11 * 1024 * 1024) }));
    expect(huge).toMatchObject({ status: 413, body: { error: expect.stringMatching(/larger than 10485760 bytes/) } });
  }, 30_000);
});
