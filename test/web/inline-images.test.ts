import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inlineCidImages } from '../../src/web/pages/message-content.js';
import { markVerified } from '../helpers/api.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { signUpInBrowser, testApi, type Browserish, type TestApi } from './web-client.js';

// A 1×1 PNG.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', 'base64');

let api: TestApi;
let smtp: RunningSmtp;
let owner: Browserish;
let messageId: string;
beforeAll(async () => {
  api = testApi();
  smtp = await startSmtp(api.deps);
  owner = await signUpInBrowser(api);
  const domain = await api.call('POST', '/api/domains', { token: owner.token, body: { name: 'inline.example' } });
  await markVerified(api, domain.body.id);
  await api.call('POST', '/api/routes', { token: owner.token, body: { domain_id: domain.body.id, match: '*@inline.example', action: 'store' } });
  await smtp.transport.sendMail({
    from: 'news@sender.example',
    to: 'a@inline.example',
    subject: 'with a logo',
    html: '<p><img id="logo" src="cid:logo@news"> <img src=\'cid:unknown@news\'> <td background="CID:LOGO@NEWS"></p>',
    attachments: [{ filename: 'logo.png', content: PNG, contentType: 'image/png', cid: 'logo@news' }],
  });
  messageId = (await api.call('GET', '/api/messages', { token: owner.token })).body.data[0].id;
});
afterAll(async () => {
  await smtp.close();
  api.deps.cleanup();
});

describe('inline (cid:) images in the dashboard’s mail frame', () => {
  it('point at the attachment’s signed link, which serves the image without a session', async () => {
    const message = await api.call('GET', `/api/messages/${messageId}`, { token: owner.token });
    const logo = message.body.attachments.find((a: { filename: string }) => a.filename === 'logo.png');
    expect(logo.content_id).toMatch(/logo@news/);

    const res = await owner.get(`/messages/${messageId}/html`);
    const escaped = (logo.url as string).replace(/&/g, '&amp;');
    expect(res.text).toContain(`<img id="logo" src="${escaped}">`);
    expect(res.text).toContain(`background="${escaped}"`); // case-insensitive scheme and id
    expect(res.text).toContain("src='cid:unknown@news'"); // no such part: left alone
    expect(res.headers.get('content-security-policy')).toContain(`img-src data: ${api.deps.config.publicUrl}/att/;`);

    const img = await api.app.request(new URL(logo.url as string).pathname + new URL(logo.url as string).search);
    expect(img.status).toBe(200);
    expect(Buffer.from(await img.arrayBuffer()).equals(PNG)).toBe(true);
  });

  it('are left as they are when the attachment is gone or has no Content-ID', () => {
    const att = (content_id: string, url: string | null) => ({ index: 0, filename: 'x.png', content_type: 'image/png', size: 1, sha256: '', content_id, url });
    expect(inlineCidImages('<img src="cid:a">', [att('<a>', null)])).toBe('<img src="cid:a">');
    expect(inlineCidImages('<img src="cid:a">', [att('', 'https://m.example/att/x')])).toBe('<img src="cid:a">');
    // The URL form of a Content-ID is %-encoded (RFC 2392); the link is attribute-escaped.
    expect(inlineCidImages('<img src="cid:a%40b">', [att('<a@b>', 'https://m.example/att/m/0?exp=1&sig="x"')])).toBe(
      '<img src="https://m.example/att/m/0?exp=1&amp;sig=&quot;x&quot;">',
    );
  });
});
