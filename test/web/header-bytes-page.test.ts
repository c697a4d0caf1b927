import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markVerified } from '../helpers/api.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { mime } from '../parse/parse-raw.js';
import { signUpInBrowser, testApi, type Browserish, type TestApi } from './web-client.js';

let api: TestApi;
let smtp: RunningSmtp;
let owner: Browserish;
let messageId: string;
beforeAll(async () => {
  api = testApi();
  smtp = await startSmtp(api.deps);
  owner = await signUpInBrowser(api);
  const domain = await api.call('POST', '/api/domains', { token: owner.token, body: { name: 'bytes.example' } });
  await markVerified(api, domain.body.id);
  await api.call('POST', '/api/routes', { token: owner.token, body: { domain_id: domain.body.id, match: '*@bytes.example', action: 'store' } });
  const raw = mime(
    'From: a@sender.test',
    'To: a@bytes.example',
    Buffer.from('Subject: Grüße', 'utf8'),
    Buffer.from('X-Note: 日本語のメモ', 'utf8'),
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="b"',
    '',
    '--b',
    'Content-Type: text/plain',
    "Content-Disposition: attachment; filename*=utf-8''invoice%0D%0AX-Injected%3A%20yes.txt",
    '',
    'hi',
    '--b--',
  );
  await smtp.transport.sendMail({ envelope: { from: 'a@sender.test', to: ['a@bytes.example'] }, raw });
  messageId = (await api.call('GET', '/api/messages', { token: owner.token })).body.data[0].id;
});
afterAll(async () => {
  await smtp.close();
  await api.deps.cleanup();
});

describe('the dashboard’s message page', () => {
  it('shows raw UTF-8 headers as their text, and attachment names without CR/LF', async () => {
    const res = await owner.get(`/messages/${messageId}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<h1>Grüße</h1>');
    expect(res.text).toContain('>日本語のメモ</td>');
    expect(res.text).toContain('>invoice X-Injected: yes.txt</a>');
    expect(res.text).not.toMatch(/invoice[\r\n]/);
    const json = await api.call('GET', `/api/messages/${messageId}`, { token: owner.token });
    expect(json.body.attachments.map((a: { filename: string }) => a.filename)).toEqual(['invoice X-Injected: yes.txt']);
  });
});
