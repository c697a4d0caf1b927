import { describe, expect, it } from 'vitest';
import { bytes, mime, parseRaw } from './parse-raw.js';

/** RFC 2047 encoded words in the header fields the payload carries (issue #11, "Parsing"). */
const headers = async (...lines: (string | Buffer)[]) =>
  (await parseRaw(mime('To: b@example.com', ...lines, 'MIME-Version: 1.0', '', 'body'))).parsed;

describe('encoded words', () => {
  it('8-bit bytes inside an encoded word are bytes of its charset, decoded once', async () => {
    expect((await headers(bytes('Subject: =?iso-8859-1?Q?Fr', 0xf6, 'sche?=')))).toMatchObject({ subject: 'Fr\u00f6sche' });
    // windows-1252: E9 is é, 80 is the euro sign.
    expect(await headers(bytes('Subject: =?windows-1252?Q?caf', 0xe9, '_=80?=')))
      .toMatchObject({ subject: 'caf\u00e9 \u20ac' });
    const p = await headers(bytes('From: =?iso-8859-1?Q?J', 0xfc, 'rgen?= <j@sender.test>'), 'Subject: x');
    expect(p.from).toEqual({ address: 'j@sender.test', name: 'J\u00fcrgen' });
    // RFC 6532: raw UTF-8 outside encoded words is UTF-8, beside a word with raw 8-bit bytes.
    const mixed = bytes('Subject: =?iso-8859-1?Q?Fr', 0xf6, 'sche?= gr', 0xc3, 0xb6, 0xc3, 0x9f, 'er');
    expect((await headers(mixed)).subject).toBe('Fr\u00f6sche gr\u00f6\u00dfer');
  });

  it('UTF-7 encoded words are decoded (Q and B)', async () => {
    expect((await headers('Subject: =?utf-7?Q?Fr+APY-sche?=')).subject).toBe('Fr\u00f6sche');
    expect((await headers('Subject: =?UTF-7?B?RnIrQVBZLXNjaGU=?=')).subject).toBe('Fr\u00f6sche');
    const p = await headers('From: =?utf-7?Q?J+APw-rgen?= <j@sender.test>', 'Subject: x');
    expect(p.from.name).toBe('J\u00fcrgen');
  });

  it('encoded words follow the WHATWG labels and code page numbers, as bodies do', async () => {
    // us-ascii is windows-1252 (E9 = é); "437" is IBM code page 437 (94 = ö).
    expect((await headers('Subject: =?us-ascii?Q?caf=E9?=')).subject).toBe('caf\u00e9');
    expect((await headers('Subject: =?437?Q?=94nly?=')).subject).toBe('\u00f6nly');
    // Shift_JIS F9 91 is in the user-defined area: U+E000 − 8836 + 10608 = U+E6EC.
    expect((await headers('Subject: =?shift_jis?B?g2WDWINn+ZE=?=')).subject).toBe('\u30c6\u30b9\u30c8\ue6ec');
  });

  it('CR and LF from encoded words never reach subject, names or message ids', async () => {
    const p = await headers(
      'From: =?utf-8?Q?Eve=0D=0ABcc=3A_x=40evil.test?= <eve@sender.test>',
      'Cc: =?utf-8?B?Qm9iDQpYLUV2aWw6IDE=?= <bob@example.com>',
      'Subject: =?utf-8?Q?hello=0D=0ABcc:_x@evil.test?=',
      'Message-ID: =?utf-8?Q?=3Ca=0D=0AX-Evil:_1@sender.test=3E?=',
      'In-Reply-To: =?utf-8?Q?=3Cb=0AX-Evil:_2@sender.test=3E?=',
    );
    expect(p.subject).toBe('hello Bcc: x@evil.test');
    expect(p.from.name).toBe('Eve Bcc: x@evil.test');
    expect(p.cc[0]!.name).toBe('Bob X-Evil: 1');
    expect(p.messageId).toBe('<a X-Evil: 1@sender.test>');
    expect(p.inReplyTo).toBe('<b X-Evil: 2@sender.test>');
  });

  it('a folded subject does not keep a trailing newline', async () => {
    expect((await headers('Subject: =?utf-8?Q?hello?=', ' =?utf-8?Q?=0D=0A?=')).subject).toBe('hello');
    expect((await headers('Subject: =?utf-8?B?aGVsbG8K?=')).subject).toBe('hello');
  });
});
