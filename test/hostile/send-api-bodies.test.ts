import { afterEach, describe, expect, it } from 'vitest';
import { signup, testApi, type TestApi } from '../helpers/api.js';
import { sendingDomain } from '../helpers/sending.js';

/**
 * Hostile POST /v1/send bodies (DESIGN §9): anything malformed is a 4xx JSON `{ error }` naming
 * the field, nothing is written; nothing a caller puts in a field starts a header or a MIME part
 * of its own.
 */
let api: TestApi;
afterEach(async () => {
  await api?.deps.cleanup();
});

let me: { userId: string; domainId: string };
async function setup() {
  api = testApi();
  const { token, user } = await signup(api);
  me = { userId: user.id, domainId: (await sendingDomain(api, token, 'example.com')).id };
  return token;
}

const base = { from: 'Support <support@example.com>', to: 'a@dest.test', subject: 'Hello', text: 'Hi' };
const sends = () => (api.deps.db.prepare('SELECT count(*) AS n FROM sends').get() as { n: number }).n;
const post = (token: string, body: string, contentType = 'application/json') =>
  api.app.request('/v1/send', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': contentType }, body });

describe('POST /v1/send, hostile bodies', () => {
  it('attachment content_type and content_id: a CR/LF, a multipart type or a bare word is a 400 naming the field, nothing written', async () => {
    const token = await setup();
    const cases: [Record<string, string>, string][] = [
      [{ content_type: 'text/plain\r\nBcc: e@evil.test' }, 'attachments[0].content_type'],
      [{ content_type: 'text/plain\nX-Injected: 1' }, 'attachments[0].content_type'],
      [{ content_type: 'multipart/mixed; boundary=zz' }, 'attachments[0].content_type'],
      [{ content_type: 'text' }, 'attachments[0].content_type'],
      [{ content_id: 'logo>\r\nBcc: e@evil.test' }, 'attachments[0].content_id'],
      [{ content_id: 'a b' }, 'attachments[0].content_id'],
    ];
    for (const [extra, field] of cases) {
      const res = await api.call('POST', '/v1/send', { token, body: { ...base, attachments: [{ filename: 'a.txt', content: 'aGk=', ...extra }] } });
      expect([res.status, res.body.error]).toEqual([400, expect.stringContaining(field)]);
    }
    expect(sends()).toBe(0);
    for (const extra of [{ content_type: 'text/plain; charset=utf-8', content_id: 'logo@x' }, { content_type: 'application/pdf; name="a b.pdf"', content_id: '<logo@x>' }, { content_type: 'message/rfc822' }]) {
      const res = await api.call('POST', '/v1/send', { token, body: { ...base, attachments: [{ filename: 'a.txt', content: 'aGk=', ...extra }] } });
      expect(res.status).toBe(202);
    }
  });

  // These held on main too: kept as the record of what each does.
  it('NUL, U+2028, U+0085 and commas in the subject, display names and header values are encoded: no header of the caller\'s making, no NUL on the wire', async () => {
    const token = await setup();
    const evil = 'x\u2028Bcc: e@evil.test';
    const cases = [
      { subject: 'a\u0000b' }, { subject: evil }, { subject: 'a\u0085Bcc: e@evil.test' },
      { from: '"Sup\u0000port" <support@example.com>' }, { from: 'Evil, Bcc: e@evil.test <support@example.com>' }, { to: `"${evil}" <a@dest.test>` },
      { headers: { 'X-A': 'v\u0000' } }, { headers: { 'X-A': `v${evil}` } },
      { attachments: [{ filename: `a\u0000.txt${evil}`, content: 'aGk=' }] },
    ];
    for (const c of cases) {
      const res = await api.call('POST', '/v1/send', { token, body: { ...base, ...c } });
      expect(res.status).toBe(202);
      const raw = (await api.deps.repos.sends.raw(res.body.id))!;
      expect(raw.includes(0)).toBe(false);
      const text = raw.toString('latin1');
      const top = text.slice(0, text.indexOf('\r\n\r\n')).replace(/\r\n[ \t]/g, ' ');
      const names = top.split('\r\n').map((l) => l.slice(0, l.indexOf(':')).toLowerCase());
      expect(names.filter((n) => !['dkim-signature', 'from', 'to', 'subject', 'message-id', 'date', 'mime-version', 'content-type', 'content-transfer-encoding', 'x-a'].includes(n))).toEqual([]);
      expect(/^(bcc|x-b):/im.test(text)).toBe(false);
    }
  });

  it('reply_to_message_id: another account\'s message is a 400; a hostile Message-ID/References in one\'s own stored message starts no header', async () => {
    const token = await setup();
    const { storeMessage } = await import('../helpers/messages.js');
    const other = await signup(api);
    const otherDomain = await sendingDomain(api, other.token, 'other.test');
    const theirs = await storeMessage(api.deps, { userId: other.user.id, domainId: otherDomain.id });
    const res = await api.call('POST', '/v1/send', { token, body: { ...base, reply_to_message_id: theirs.id } });
    expect([res.status, res.body.error]).toEqual([400, expect.stringMatching(/^reply_to_message_id:/)]);

    const mine = await storeMessage(api.deps, me);
    api.deps.db
      .prepare(`UPDATE messages SET parsed = json_set(parsed, '$.messageId', ?, '$.references', json(?)) WHERE id = ?`)
      .run('<a@x>\r\nBcc: e@evil.test', JSON.stringify(['<b@x>\nX-B: 1', '<c@x>\u2028Bcc: f@evil.test']), mine.id);
    const ok = await api.call('POST', '/v1/send', { token, body: { ...base, reply_to_message_id: mine.id } });
    expect(ok.status).toBe(202);
    const text = (await api.deps.repos.sends.raw(ok.body.id))!.toString('latin1');
    // nodemailer keeps each on one line: 'In-Reply-To: <a@x> Bcc: e@evil.test>'.
    expect(/^(bcc|x-b):/im.test(text)).toBe(false);
  });

  it('wrong shapes, types, nesting, CR/LF in fields, content types, over the size limit: each a 4xx JSON error, never a 500, nothing written', async () => {
    const token = await setup();
    const bodies = [
      'null', '[]', '1', '"x"', '{', '{"from":1}',
      JSON.stringify({ ...base, to: [1, 2] }), JSON.stringify({ ...base, to: { a: 1 } }), JSON.stringify({ ...base, subject: null }),
      JSON.stringify({ ...base, attachments: 'x' }), JSON.stringify({ ...base, attachments: [null] }), JSON.stringify({ ...base, headers: [] }),
      JSON.stringify({ ...base, headers: { 'X-A': 'v\rBcc: e@evil.test' } }), JSON.stringify({ ...base, headers: { 'Bad Name': 'v' } }), JSON.stringify({ ...base, headers: { Bcc: 'e@evil.test' } }),
      JSON.stringify({ ...base, subject: 'a\r\nBcc: e@evil.test' }), JSON.stringify({ ...base, from: 'Support\r\nBcc: e@evil.test <support@example.com>' }),
      JSON.stringify({ ...base, to: 'a@dest.test, e@evil.test' }), JSON.stringify({ ...base, reply_to: 'x@evil.test\u0000' }),
      JSON.stringify({ ...base, attachments: [{ filename: 'a\r\nb.txt', content: 'aGk=' }] }), JSON.stringify({ ...base, attachments: [{ filename: 'a.txt', content: '!!' }] }),
      JSON.stringify({ ...base, to: Array.from({ length: 51 }, (_, i) => `r${i}@dest.test`) }), JSON.stringify({ ...base, to: Array(100_000).fill(5) }),
      JSON.stringify({ ...base, reply_to_message_id: 'msg_of_someone_else' }),
      `{"from":"support@example.com","subject":"s","text":"t","to":${'['.repeat(100_000)}${']'.repeat(100_000)}}`,
      `{"from":"support@example.com","subject":"s","text":"t","to":"a@dest.test","headers":${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}}`,
      JSON.stringify({ ...base, text: 'x'.repeat(api.deps.config.maxMessageBytes + 1) }),
    ];
    for (const body of bodies) {
      const res = await post(token, body);
      expect(res.status, body.slice(0, 80)).toBeGreaterThanOrEqual(400);
      expect(res.status, body.slice(0, 80)).toBeLessThan(500);
      expect(typeof ((await res.json()) as { error: unknown }).error).toBe('string');
    }
    for (const [body, type] of [['from=a', 'application/x-www-form-urlencoded'], [JSON.stringify(base), 'text/plain']] as const) {
      expect((await post(token, body, type)).status).toBe(415);
    }
    expect(sends()).toBe(0);
  });
});
