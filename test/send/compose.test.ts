import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { PassThrough } from 'node:stream';
import { dkimVerify } from 'mailauth';
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { compose, mimeTree, type Composition } from '../../src/send/compose.js';
import { buildMime, type MimeTree } from '../../src/send/mime-build.js';
import { staticResolver } from '../helpers/sending.js';
import { asyncResourceTypes } from '../helpers/async-resources.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const record = { name: 'sel1._domainkey.example.com', type: 'TXT' as const, value: `v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}` };
const signer = { domain: 'example.com', selector: 'sel1', privateKey };

const base: Composition = { from: 'app@example.com', to: ['alice@dest.test'], cc: [], bcc: [], replyTo: [], subject: 'Hello', headers: {}, attachments: [] };
const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 1, 2, 3, 255]);
const binary = randomBytes(300_001);

// Every shape MailComposer gives a message: one part, alternative, related, mixed, and each content encoding.
const cases: Record<string, Partial<Composition>> = {
  'plain ASCII with bare LF line ends (7bit)': { text: 'x'.repeat(76).concat('\n').repeat(53) },
  'a line longer than 76 (quoted-printable)': { text: `${'long '.repeat(40)}\nshort\n` },
  'non-ASCII text (quoted-printable)': { text: 'Grüße aus Köln, ça va?\r\nZweite Zeile  \r\n.dot at the start\r\n' },
  'mostly non-ASCII text (base64)': { text: 'こんにちは世界、メールのテストです。'.repeat(20) },
  'whitespace before line ends and at the end (quoted-printable)': { text: `tab\t\r\nspace \r\n${'ü '.repeat(3000)}\t ` },
  'no final line break': { text: 'ends without a break' },
  'ends in a bare CR': { text: 'ends in CR\r' },
  'empty text': { text: '' },
  'no body at all': {},
  'html only': { html: '<p>Hi <b>Alice</b> — ok</p>' },
  'text and html (alternative)': { text: 'Hi Alice', html: '<p>Hi <b>Alice</b></p>' },
  'html with an inline image (related)': { html: '<img src="cid:logo@x">', attachments: [{ filename: 'logo.png', content: png, contentType: 'image/png', contentId: 'logo@x' }] },
  'text, html, inline image and attachments (mixed)': {
    text: 'see attached',
    html: '<p>see <img src="cid:logo@x"></p>',
    attachments: [
      { filename: 'logo.png', content: png, contentType: 'image/png', contentId: 'logo@x' },
      { filename: 'data.bin', content: binary },
      { filename: 'notes.txt', content: Buffer.from('plain\nnotes ü\n'), contentType: 'text/plain' },
      { filename: 'fwd.eml', content: Buffer.from('From: x@y\r\nSubject: inner\r\n\r\nbody\r\n'), contentType: 'message/rfc822' },
      { filename: 'Résumé «final».pdf', content: Buffer.from('%PDF-1.4\n') },
    ],
  },
  'an empty message/rfc822 attachment alone (as it is, no encoding)': { attachments: [{ filename: 'empty.eml', content: Buffer.alloc(0), contentType: 'message/rfc822' }] },
  'one attachment and no text (mixed)': { attachments: [{ filename: 'a.bin', content: Buffer.from([0, 13, 10, 46, 13]) }] },
  'display names, cc, reply-to, custom headers, a reply': {
    from: { name: 'Zoë Support', address: 'support@example.com' },
    to: ['alice@dest.test', { name: 'Bob, Jr.', address: 'bob@dest.test' }],
    cc: ['carol@dest.test'],
    replyTo: ['help@example.com'],
    subject: `Ünïcode subject that is long enough to need folding ${'word '.repeat(20)}`,
    headers: { 'X-Campaign': 'c1', 'List-Unsubscribe': '<https://example.com/u>' },
    inReplyTo: '<parent@dest.test>',
    references: ['<root@dest.test>', '<parent@dest.test>'],
    text: 'reply',
  },
};

const date = new Date('2026-12-07T05:00:00Z');
/** Two compiles of one message differ only in the boundary's random part; each is named the same here. */
const fixed = (bytes: Buffer, root: unknown) => bytes.toString('latin1').replaceAll((root as { baseBoundary: string }).baseBoundary, 'BASE');

describe('building the composed message without streams (mime-build.ts)', () => {
  for (const [name, c] of Object.entries(cases)) {
    it(`makes the bytes MimeNode.build() makes: ${name}`, async () => {
      const walked = mimeTree({ ...base, ...c }, '<1@example.com>', date);
      const streamed = mimeTree({ ...base, ...c }, '<1@example.com>', date);
      const bytes = buildMime(walked as unknown as MimeTree);
      expect(bytes).not.toBeNull();
      expect(fixed(bytes!, walked)).toBe(fixed(await streamed.build(), streamed));
    });
  }

  it('leaves a tree with a stream for content to build()', () => {
    const root = mimeTree({ ...base, text: 'x' }, '<1@example.com>', date);
    (root as unknown as { content: unknown }).content = new PassThrough();
    expect(buildMime(root as unknown as MimeTree)).toBeNull();
  });

  it('composes without a stream pipeline or a setImmediate per part', async () => {
    const types = await asyncResourceTypes(() => compose({ ...base, ...cases['text, html, inline image and attachments (mixed)'] }, signer, '<1@example.com>', date));
    expect(types).not.toContain('Immediate');
    // The RSA signature is made on the signing thread, not on libuv's pool (sign-thread.test.ts).
    expect(types).not.toContain('SIGNREQUEST');
  });

  it('signs what it built: mailauth passes, every part decodes to the bytes given', async () => {
    const mixed = cases['text, html, inline image and attachments (mixed)']!;
    // mailparser shows a message/rfc822 part as text, not as an attachment: left out here.
    const c = { ...base, ...mixed, attachments: mixed.attachments!.filter((a) => a.contentType !== 'message/rfc822') };
    const raw = await compose(c, signer, '<1@example.com>', date);
    const verified = await dkimVerify(raw, { resolver: staticResolver([record]) });
    expect(verified.results[0]).toMatchObject({ status: { result: 'pass' }, signingDomain: 'example.com' });
    const parsed = await simpleParser(raw, { keepCidLinks: true });
    expect(parsed.text?.trim()).toBe('see attached');
    expect(parsed.html).toBe('<p>see <img src="cid:logo@x"></p>');
    expect(parsed.attachments.map((a) => a.content.equals(c.attachments.find((x) => x.filename === a.filename)!.content))).toEqual([true, true, true, true]);
  });
});
