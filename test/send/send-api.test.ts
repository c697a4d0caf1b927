import { dkimVerify } from 'mailauth';
import { simpleParser } from 'mailparser';
import { afterEach, describe, expect, it } from 'vitest';
import { createKey, signup, testApi, type TestApi } from '../helpers/api.js';
import { sendingDomain, staticResolver } from '../helpers/sending.js';

let api: TestApi;
afterEach(() => api?.deps.cleanup());

const raw = async (id: string) => (await api.deps.repos.sends.raw(id))!;

async function ready(env: Record<string, string> = {}) {
  api = testApi(env);
  const { token, user } = await signup(api);
  const domain = await sendingDomain(api, token, 'example.com');
  return { token, user, domain };
}

const mail = { from: 'Support <support@example.com>', to: ['alice@dest.test'], subject: 'Hello', text: 'Hi Alice' };

describe('POST /v1/send', () => {
  it('queues a DKIM-signed message with Message-ID at the domain; rows exist before the 202', async () => {
    const { token, domain } = await ready();
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0, 1, 2, 3, 255]);
    const res = await api.call('POST', '/v1/send', {
      token,
      body: {
        ...mail,
        cc: 'bob@dest.test',
        bcc: ['hidden@other.test'],
        reply_to: 'help@example.com',
        html: '<p>Hi <b>Alice</b></p>',
        headers: { 'X-Campaign': 'c1' },
        attachments: [{ filename: 'pic.png', content: png.toString('base64'), content_type: 'image/png' }],
      },
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.stringMatching(/^snd_/), status: 'queued' });
    const send = (await api.deps.repos.sends.getById(res.body.id))!;
    expect(send.mailFrom).toBe(`bounce+${res.body.id}@example.com`);
    expect((await api.deps.repos.sends.recipients(res.body.id)).map((r) => [r.address, r.status])).toEqual([
      ['alice@dest.test', 'queued'],
      ['bob@dest.test', 'queued'],
      ['hidden@other.test', 'queued'],
    ]);
    const bytes = await raw(res.body.id);
    const verified = await dkimVerify(bytes, { resolver: staticResolver([domain.dkimRecord]) });
    expect(verified.results[0]).toMatchObject({ status: { result: 'pass' }, signingDomain: 'example.com' });
    expect(bytes.toString()).toMatch(/^DKIM-Signature: v=1; a=rsa-sha256; c=relaxed\/relaxed; d=example.com/);
    const parsed = await simpleParser(bytes);
    expect(parsed.messageId).toMatch(/^<[0-9a-f]{32}@example\.com>$/);
    expect(parsed.messageId).toBe(send.messageId);
    expect(Math.abs(parsed.date!.getTime() - send.createdAt)).toBeLessThan(1000);
    expect(parsed.text?.trim()).toBe('Hi Alice');
    expect(parsed.html).toBe('<p>Hi <b>Alice</b></p>');
    expect(parsed.headers.get('x-campaign')).toBe('c1');
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.attachments[0]!.content.equals(png)).toBe(true);
    expect(parsed.attachments[0]!.contentType).toBe('image/png');
  });

  it('reply_to_message_id sets In-Reply-To and References from the stored message', async () => {
    const { token, user, domain } = await ready();
    const { storeMessage } = await import('../helpers/messages.js');
    const msg = await storeMessage(api.deps, { userId: user.id, domainId: domain.id });
    api.deps.db
      .prepare(`UPDATE messages SET parsed = json_set(parsed, '$.messageId', '<orig@cust.test>', '$.references', json('["<first@cust.test>"]')) WHERE id = ?`)
      .run(msg.id);
    const res = await api.call('POST', '/v1/send', { token, body: { ...mail, reply_to_message_id: msg.id, subject: 'Re: Help' } });
    expect(res.status).toBe(202);
    const parsed = await simpleParser(await raw(res.body.id));
    expect(parsed.inReplyTo).toBe('<orig@cust.test>');
    expect(parsed.references).toEqual(['<first@cust.test>', '<orig@cust.test>']);
    const bad = await api.call('POST', '/v1/send', { token, body: { ...mail, reply_to_message_id: 'msg_nope' } });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/^reply_to_message_id:/);
  });

  it.each([
    ['no recipient', { to: [] }, /^to: at least one recipient/],
    ['more than 50', { to: Array.from({ length: 51 }, (_, i) => `r${i}@dest.test`) }, /^to: at most 50 recipients/],
    ['bad to', { to: ['not-an-address'] }, /^to\[0\]: not an email address/],
    ['bad cc', { cc: ['a@b.test', 'x@@y'] }, /^cc\[1\]: not an email address/],
    ['bad from', { from: 'nobody' }, /^from: not an email address/],
    ['no body', { text: undefined }, /^text: a text or html body is required/],
    ['not base64', { attachments: [{ filename: 'a.bin', content: 'not base64!' }] }, /^attachments\[0\]\.content: not base64/],
    ['header injection', { headers: { 'X-Evil': 'a\r\nBcc: x@y.test' } }, /^headers\.X-Evil: value must be one line/],
    ['reserved header', { headers: { From: 'x@y.test' } }, /^headers\.From: set by Mailhook/],
    ['subject not a string', { subject: 42 }, /^subject:/],
    ['too large', { attachments: [{ filename: 'big.bin', content: Buffer.alloc(3000).toString('base64') }] }, /^message: \d+ bytes of content is more than MAX_MESSAGE_BYTES/],
  ])('400 naming the field: %s', async (_label, change, error) => {
    const { token } = await ready({ MAX_MESSAGE_BYTES: '2048' });
    const res = await api.call('POST', '/v1/send', { token, body: { ...mail, ...change } });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatch(error);
    expect(api.deps.db.prepare('SELECT count(*) AS n FROM sends').get()).toEqual({ n: 0 });
  });

  it('403 for a domain not yours, for a key without send, for a domain-restricted key on another domain; 409 before DKIM is verified', async () => {
    const { token } = await ready();
    let res = await api.call('POST', '/v1/send', { token, body: { ...mail, from: 'x@stranger.test' } });
    expect(res).toMatchObject({ status: 403, body: { error: 'from: stranger.test is not one of your domains' } });

    const other = await signup(api);
    await sendingDomain(api, other.token, 'theirs.test');
    res = await api.call('POST', '/v1/send', { token, body: { ...mail, from: 'x@theirs.test' } });
    expect(res).toMatchObject({ status: 403, body: { error: 'from: theirs.test is not one of your domains' } });

    const readOnly = await createKey(api, token, ['messages:read']);
    res = await api.call('POST', '/v1/send', { token: readOnly.secret, body: mail });
    expect(res).toMatchObject({ status: 403, body: { error: 'this API key lacks the send scope' } });

    const second = await sendingDomain(api, token, 'second.test');
    const restricted = await createKey(api, token, ['send'], second.id);
    res = await api.call('POST', '/v1/send', { token: restricted.secret, body: mail });
    expect(res).toMatchObject({ status: 403, body: { error: 'from: this API key may only send from its own domain, not example.com' } });
    res = await api.call('POST', '/v1/send', { token: restricted.secret, body: { ...mail, from: 'a@second.test' } });
    expect(res.status).toBe(202);

    const { addDomain, markVerified } = await import('../helpers/api.js');
    const pending = await addDomain(api, token, 'nodkim.test');
    await markVerified(api, pending.id);
    res = await api.call('POST', '/v1/send', { token, body: { ...mail, from: 'a@nodkim.test' } });
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/^from: nodkim.test is not verified for sending: publish its DKIM record/);
  });

  it('429 with Retry-After past SEND_RATE_PER_MINUTE', async () => {
    const { token } = await ready({ SEND_RATE_PER_MINUTE: '3' });
    for (let i = 0; i < 3; i++) expect((await api.call('POST', '/v1/send', { token, body: mail })).status).toBe(202);
    const res = await api.call('POST', '/v1/send', { token, body: mail });
    expect(res.status).toBe(429);
    expect(res.body.error).toMatch(/sends for this account \(SEND_RATE_PER_MINUTE=3\)/);
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(0);
  });

  it('Idempotency-Key: same body → the same 202 and one send; another body → 409; 20 concurrent → one send', async () => {
    const { token } = await ready();
    const first = await api.call('POST', '/v1/send', { token, body: mail, headers: { 'idempotency-key': 'k1' } });
    const again = await api.call('POST', '/v1/send', { token, body: { ...mail, idempotency_key: 'k1' } });
    expect(first.status).toBe(202);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    const changed = await api.call('POST', '/v1/send', { token, body: { ...mail, text: 'other' }, headers: { 'idempotency-key': 'k1' } });
    expect(changed.status).toBe(409);
    expect(changed.body.error).toMatch(/^Idempotency-Key: already used with a different request body/);

    const all = await Promise.all(
      Array.from({ length: 20 }, () => api.call('POST', '/v1/send', { token, body: { ...mail, subject: 'burst' }, headers: { 'idempotency-key': 'k2' } })),
    );
    expect(all.map((r) => r.status)).toEqual(Array(20).fill(202));
    expect(new Set(all.map((r) => r.body.id)).size).toBe(1);
    expect(api.deps.db.prepare('SELECT count(*) AS n FROM sends').get()).toEqual({ n: 2 });
  });
});
