import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import type { Route } from '../../src/db/routes.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliver/worker.js';
import { addRoute, seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { startSmtp, type RunningSmtp } from '../helpers/smtp.js';
import { startWebhookReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';
import { bytes, mime } from '../parse/parse-raw.js';

/**
 * Header bytes the way senders write them, sent over SMTP and read back from the webhook.
 * Expected values are written out by hand from the RFCs (RFC 6532: raw header bytes are UTF-8;
 * RFC 5322 §2.2.3: unfolding), never taken from mailparser.
 */

interface Data {
  id: string;
  subject: string;
  from: { address: string; name: string };
  headers: { name: string; value: string }[];
  attachments: { index: number; filename: string; url: string }[];
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');

describe('raw header bytes and attachment names, SMTP → webhook', () => {
  let deps: TestDeps;
  let smtp: RunningSmtp;
  let worker: DeliveryWorker;
  let receiver: WebhookReceiver;
  let route: Route;

  beforeEach(async () => {
    deps = testDeps();
    receiver = await startWebhookReceiver();
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    route = await addRoute(deps, { userId: user.id, domainId: domain.id }, { action: 'webhook', destination: receiver.url, secret: newWebhookSecret() });
    worker = createDeliveryWorker(deps);
    worker.start();
    smtp = await startSmtp(deps, { onStored: worker.kick });
  });

  afterEach(async () => {
    await smtp.close();
    await worker.stop();
    await receiver.close();
    await deps.cleanup();
  });

  /** Sends the exact bytes over SMTP and returns the verified webhook's `data`. */
  async function deliver(raw: Buffer): Promise<Data> {
    await smtp.transport.sendMail({ envelope: { from: 'a@sender.test', to: ['support@example.com'] }, raw });
    const [req] = await receiver.waitFor(1, 15_000);
    const event = new Webhook(route.secret!).verify(req!.body, req!.headers as Record<string, string>) as { data: Data };
    return event.data;
  }

  const header = (d: Data, name: string) => d.headers.filter((h) => h.name === name).map((h) => h.value);

  it('raw UTF-8 header values (RFC 6532) reach headers[], subject and the from name as the same Unicode text', async () => {
    const data = await deliver(
      mime(
        utf8('From: "Jöhn Dœ" <john@sender.test>'),
        'To: support@example.com',
        utf8('Subject: Grüße aus Köln'),
        utf8('X-Note: 日本語のメモ'),
        utf8('X-Folded: première ligne'),
        utf8(' et la suite 🎉'),
        'X-Encoded: =?iso-8859-1?Q?Fr=F6sche?=',
        'Message-ID: <utf8@sender.test>',
        '',
        'body',
      ),
    );
    expect(data.subject).toBe('Grüße aus Köln');
    expect(data.from).toEqual({ address: 'john@sender.test', name: 'Jöhn Dœ' });
    expect(header(data, 'Subject')).toEqual(['Grüße aus Köln']);
    expect(header(data, 'From')).toEqual(['"Jöhn Dœ" <john@sender.test>']);
    expect(header(data, 'X-Note')).toEqual(['日本語のメモ']);
    expect(header(data, 'X-Folded')).toEqual(['première ligne et la suite 🎉']);
    // headers[] carries values as written: an encoded word is not decoded there.
    expect(header(data, 'X-Encoded')).toEqual(['=?iso-8859-1?Q?Fr=F6sche?=']);
  });

  it('8-bit bytes that are not UTF-8 are legacy windows-1252, and a cut UTF-8 value keeps its text with U+FFFD', async () => {
    const data = await deliver(
      mime(
        'From: a@sender.test',
        'To: support@example.com',
        bytes('Subject: Die Hasen und die Fr', 0xf6, 'sche ', 0x80, '5 ', 0x85),
        // A UTF-8 value cut inside its last character (0xD1 0x82 is "т", a lone 0xD1 is not).
        Buffer.concat([utf8('X-Cut: очень длинн'), Buffer.from([0xd1])]),
        // Bytes inside an encoded word belong to the word's charset, not to the header's reading.
        bytes('X-Word: =?iso-8859-1?Q?M', 0xfc, 'ller?='),
        '',
        'body',
      ),
    );
    expect(data.subject).toBe('Die Hasen und die Frösche €5 …');
    expect(header(data, 'Subject')).toEqual(['Die Hasen und die Frösche €5 …']);
    expect(header(data, 'X-Cut')).toEqual(['очень длинн\uFFFD']);
    expect(header(data, 'X-Word')).toEqual(['=?iso-8859-1?Q?Müller?=']);
  });

  it('attachment names with raw 8-bit bytes are read as the header fields are: UTF-8, cut UTF-8, windows-1252, bytes of an encoded word', async () => {
    const part = (disposition: Buffer) => ['--b', 'Content-Type: application/octet-stream', disposition, 'Content-Transfer-Encoding: base64', '', 'aGk=', ''];
    const data = await deliver(
      mime(
        'From: a@sender.test',
        'To: support@example.com',
        'Subject: 8-bit names',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        // Valid UTF-8 that holds U+FFFD itself (as Outlook Express wrote names it could not convert).
        ...part(utf8('Content-Disposition: attachment; filename="\uFFFD½ отчёт.txt"')),
        // A UTF-8 name cut inside its last character.
        ...part(Buffer.concat([utf8('Content-Disposition: attachment; filename="Картинка т'), Buffer.from([0xd1]), utf8('"')])),
        ...part(bytes('Content-Disposition: attachment; filename="Fr', 0xf6, 'sche.txt"')),
        ...part(bytes('Content-Disposition: attachment; filename="=?iso-8859-1?Q?M', 0xfc, 'ller.txt?="')),
        '--b--',
      ),
    );
    expect(data.attachments.map((a) => a.filename)).toEqual(['\uFFFD½ отчёт.txt', 'Картинка т\uFFFD', 'Frösche.txt', 'Müller.txt']);
  });

  it('attachment names lose CR, LF and other controls in the payload, the stored record, the API and the /att response', async () => {
    const part = (headers: (string | Buffer)[]) => ['--b', ...headers, 'Content-Transfer-Encoding: base64', '', 'aGk=', ''];
    const data = await deliver(
      mime(
        'From: a@sender.test',
        'To: support@example.com',
        'Subject: names',
        'MIME-Version: 1.0',
        'Content-Type: multipart/mixed; boundary="b"',
        '',
        ...part(['Content-Type: application/pdf', 'Content-Disposition: attachment; filename="quarterly', ' report.pdf"']),
        ...part(['Content-Type: text/plain', 'Content-Disposition: attachment;', ' filename="=?utf-8?Q?a=0D=0AX-Injected:_yes.txt?="']),
        ...part(['Content-Type: text/plain', "Content-Disposition: attachment; filename*=utf-8''b%0D%0ASet-Cookie%3A%20sid%3D1.txt"]),
        ...part(['Content-Type: application/octet-stream; name="=?utf-8?Q?=09tab=00nul=7Fdel=C2=85nel.bin=0A?="']),
        ...part([utf8('Content-Disposition: attachment; filename="Grüße.txt"')]),
        '--b--',
      ),
    );
    const expected = ['quarterly report.pdf', 'a X-Injected: yes.txt', 'b Set-Cookie: sid=1.txt', 'tab nul del nel.bin', 'Grüße.txt'];
    expect(data.attachments.map((a) => a.filename)).toEqual(expected);

    const stored = await deps.repos.messages.getById(data.id);
    expect(stored?.parsed.attachments.map((a) => a.filename)).toEqual(expected);
    for (const [i, name] of expected.entries()) expect((await deps.repos.messages.attachment(data.id, i))?.filename).toBe(name);

    const app = createApp(deps);
    for (const a of data.attachments) {
      const url = new URL(a.url);
      const res = await app.request(url.pathname + url.search);
      expect(res.status).toBe(200);
      const disposition = res.headers.get('content-disposition') ?? '';
      // eslint-disable-next-line no-control-regex
      expect(disposition).not.toMatch(/[\x00-\x1f\x7f]/);
      expect(disposition).toMatch(/^attachment; filename="[^"]*"; filename\*=UTF-8''\S+$/);
      expect(res.headers.get('x-injected')).toBeNull();
      expect(res.headers.get('set-cookie')).toBeNull();
      expect(await res.text()).toBe('hi');
    }
  });
});
