import { Webhook } from 'standardwebhooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { StoredAttachment, StoredMessage } from '../../src/db/messages.js';
import { jsonBody } from '../../src/deliver/json-body.js';
import { buildEmailReceived } from '../../src/deliver/payload.js';
import { buildWebhookRequest } from '../../src/deliver/request.js';
import { newWebhookSecret, signatureHeaders } from '../../src/deliver/sign.js';
import type { ParsedMessage } from '../../src/parse/types.js';
import { seedUserAndDomain, testDeps, type TestDeps } from '../helpers/deps.js';
import { seedDelivery, seedMessage } from './seed.js';

/** What the webhook body was before jsonBody: every byte of it is signed. */
const old = (v: unknown) => Buffer.from(JSON.stringify(v), 'utf8');

const LINE = 'The quick brown fox jumps over the lazy dog while the mail queue keeps on moving along.';
const benchText = `${LINE}\n`.repeat(43) + 'xxxxxxxxxxxxxxxxxxxx\n';
const config = { publicUrl: 'https://mailhook.example.net', secret: 'link-secret-0123456789abcdef0123' };

function message(parsed: Partial<ParsedMessage>, more: Partial<StoredMessage> = {}): StoredMessage {
  return {
    id: 'msg_01',
    userId: 'usr_01',
    domainId: 'dom_01',
    envelope: { mailFrom: 'alice@sender.test', rcptTo: ['support@example.com', 'sales@example.com'], helo: 'mail.sender.test', remoteIp: '203.0.113.7', tls: true },
    parsed: {
      from: { address: 'alice@sender.test', name: 'Alice' },
      to: [{ address: 'support@example.com', name: 'Support' }],
      cc: [],
      replyTo: [],
      subject: 'Order #42',
      date: Date.UTC(2026, 10, 23, 11, 59, 0),
      messageId: '<42@sender.test>',
      inReplyTo: '',
      references: [],
      headers: [{ name: 'Subject', value: 'Order #42' }],
      text: '',
      html: '',
      attachments: [],
      ...parsed,
    },
    auth: { spf: 'pass', dkim: 'none', dmarc: 'fail', arc: 'none' },
    spam: null,
    size: 4321,
    rawKey: 'raw/msg_01.eml',
    parseError: null,
    receivedAt: 1_764_000_000_000,
    purgedAt: null,
    ...more,
  };
}

const attachment = (index: number, filename: string): StoredAttachment => ({
  id: `att_${index}`,
  messageId: 'msg_01',
  index,
  filename,
  contentType: 'application/pdf',
  size: 1000 + index,
  sha256: String(index).repeat(64),
  contentId: index === 0 ? '<logo@example.com>' : '',
  blobKey: `att/msg_01/${index}`,
});

function event(m: StoredMessage, attachments: StoredAttachment[] = [], routeId: string | null = 'rte_x') {
  return buildEmailReceived({ config, message: m, attachments, delivery: { routeId, createdAt: 1_764_000_000_123 }, domain: 'example.com' });
}

/** Strings made of what JSON escapes and what UTF-8 spreads over several bytes. */
const PIECES = ['a', 'Z', ' ', '\n', '\r\n', '\t', '"', '\\', '/', '\0', '\x01', '\x08', '\x0b', '\x0c', '\x1f', '\x7f', 'é', 'ß', '€', '✓', '😀', '\u2028', '\ufeff', '\ud800', '\udc00', LINE];

function randomText(seed: number, length: number): string {
  let x = seed;
  let s = '';
  while (s.length < length) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    s += PIECES[x % PIECES.length];
  }
  return s;
}

describe('jsonBody: the webhook body, byte for byte JSON.stringify', () => {
  it('the bench message: a 3.8 KB text whose reply is the text less its last line end', () => {
    const e = event(message({ text: benchText, reply: { text: benchText.slice(0, -1), signature: '', quoted: '' } }));
    expect(jsonBody(e).equals(old(e))).toBe(true);
  });

  it('replies that are the whole text, the start of it, inside it, or not in it; empty fields', () => {
    const quoted = '> earlier\n> "quoted" \\ text\n'.repeat(20);
    const replies = [
      { text: benchText, signature: '', quoted: '' },
      { text: benchText.slice(0, 300), signature: '-- \nAlice', quoted },
      { text: benchText.slice(10), signature: '', quoted: '' },
      { text: 'Thanks!', signature: '', quoted: benchText },
      { text: '', signature: '', quoted: '' },
      undefined,
    ];
    for (const reply of replies) {
      for (const text of [benchText, '', 'short', `  \n${benchText}`]) {
        const e = event(message({ text, reply, html: text ? `<p>${text}</p>` : '' }));
        expect(jsonBody(e).equals(old(e)), String(JSON.stringify(reply)).slice(0, 40)).toBe(true);
      }
    }
  });

  it('a reply that ends inside a surrogate pair of the text', () => {
    const text = `${'a'.repeat(300)}😀${'b'.repeat(300)}\n`;
    for (const cut of [301, 302, 303]) {
      const e = event(message({ text, reply: { text: text.slice(0, cut), signature: '', quoted: text.slice(cut - 1) } }));
      expect(jsonBody(e).equals(old(e)), `cut ${cut}`).toBe(true);
    }
  });

  it('unicode, escapes and lone surrogates in every field, long and short', () => {
    for (let seed = 1; seed <= 400; seed++) {
      const text = randomText(seed, seed % 5 === 0 ? 20 : 300 + seed * 7);
      const cut = seed % 3 === 0 ? text : text.slice(0, (seed * 13) % (text.length + 1));
      const e = event(
        message(
          {
            subject: randomText(seed + 1, 40),
            from: { address: 'ålice@例え.jp', name: randomText(seed + 2, 12) },
            headers: [
              { name: 'Subject', value: randomText(seed + 3, 30) },
              { name: 'X-Long', value: randomText(seed + 4, 600) },
            ],
            text,
            html: randomText(seed + 5, seed % 2 ? 2000 : 0),
            reply: { text: cut, signature: randomText(seed + 6, 260), quoted: randomText(seed + 7, 3) },
          },
          { spam: seed % 4 === 0 ? { status: 'checked', score: -0.5 + seed / 7, required: 5, action: 'no action', symbols: [{ name: 'R_"X"', score: 0.1 }] } : null },
        ),
        seed % 6 === 0 ? [attachment(0, randomText(seed + 8, 300)), attachment(1, 'b.pdf')] : [],
        seed % 2 ? null : 'rte_x',
      );
      expect(jsonBody(e).equals(old(e)), `seed ${seed}`).toBe(true);
    }
  });

  it('attachments inline as base64, as json+attachments posts them', () => {
    const e = event(message({ text: benchText }), [attachment(0, 'a.pdf'), attachment(1, 'b.pdf')]);
    const content = Buffer.alloc(30_000, 7).toString('base64');
    for (const a of e.data.attachments) Object.assign(a, { content });
    expect(jsonBody(e).equals(old(e))).toBe(true);
  });

  it('plain values: arrays with holes, undefined members, numbers JSON writes as null', () => {
    for (const v of [[1, undefined, () => 1, 'x'.repeat(300)], { a: undefined, b: NaN, c: -0, d: 1e21, e: [Infinity], f: new Date(0) }, 'x\n'.repeat(200), 7, null]) {
      expect(jsonBody(v).equals(old(v))).toBe(true);
    }
    // Members named __proto__ (JSON.parse makes them own members), with and without a long string beside.
    for (const json of ['{"a":1,"__proto__":{"b":2},"c":"' + 'y'.repeat(300) + '"}', '{"__proto__":"' + 'z'.repeat(300) + '","d":[]}', '{"__proto__":1}']) {
      const v: unknown = JSON.parse(json);
      expect(jsonBody(v).equals(old(v))).toBe(true);
    }
  });

  it('a body from jsonBody verifies with standardwebhooks and reads back as the event', () => {
    const e = event(message({ text: `Grüße ✓ 😀\n${benchText}`, reply: { text: 'Grüße ✓ 😀', signature: '', quoted: benchText } }));
    const secret = newWebhookSecret();
    const body = jsonBody(e);
    const headers = signatureHeaders(secret, 'dlv_0123', Math.floor(Date.now() / 1000), body);
    expect(new Webhook(secret).verify(body.toString('utf8'), headers)).toEqual(JSON.parse(JSON.stringify(e)));
  });
});

describe('buildWebhookRequest', () => {
  let deps: TestDeps | undefined;
  afterEach(() => deps?.cleanup());

  it('posts JSON.stringify of the event, with the attachments inline in json+attachments', async () => {
    deps = testDeps({ PUBLIC_URL: 'https://mailhook.example.net' });
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    const { message: m, attachments } = await seedMessage(deps, { userId: user.id, domainId: domain.id }, { attachments: 2 });
    m.parsed.text = benchText;
    m.parsed.reply = { text: benchText.trimEnd(), signature: '', quoted: '' };
    for (const a of attachments) await deps.blobs.put(a.blobKey, Buffer.alloc(a.size, a.index + 1));
    const delivery = await seedDelivery(deps, { userId: user.id, messageId: m.id, url: 'https://hooks.test/in', routeId: 'rte_x' });
    for (const payload of ['json', 'json+attachments'] as const) {
      const d = { ...delivery, payload };
      const request = await buildWebhookRequest(deps, d, m, attachments, 'example.com');
      const e = buildEmailReceived({ config: deps.config, message: m, attachments, delivery: d, domain: 'example.com' });
      if (payload === 'json+attachments') {
        for (const a of e.data.attachments) Object.assign(a, { content: Buffer.alloc(a.size, a.index + 1).toString('base64') });
      }
      expect(request.body.equals(old(e)), payload).toBe(true);
    }
  });

  it('posts the same bytes when the text\'s JSON is taken from the row written in this process', async () => {
    deps = testDeps({ PUBLIC_URL: 'https://mailhook.example.net' });
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    const texts = [benchText, `Grüße "quoted" \\ \t 😀\n${benchText}`, randomText(7, 900), ''];
    for (const text of texts) {
      const m = message({ text, reply: { text: text.trimEnd(), signature: '', quoted: '' } }, { id: `msg_${texts.indexOf(text)}`, userId: user.id, domainId: domain.id });
      await deps.repos.messages.insert(m, []);
      const delivery = await seedDelivery(deps, { userId: user.id, messageId: m.id, url: 'https://hooks.test/in', routeId: 'rte_x' });
      const request = await buildWebhookRequest(deps, delivery, m, [], 'example.com');
      const e = buildEmailReceived({ config: deps.config, message: m, attachments: [], delivery, domain: 'example.com' });
      expect(request.body.equals(old(e)), text.slice(0, 20)).toBe(true);
    }
  });
});
