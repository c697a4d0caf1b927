import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { dotStuffed, hasLongerLines, installDataStreamFastPath } from '../../src/send/nodemailer-fast.js';

/**
 * src/send/nodemailer-fast.ts answers two of nodemailer's per-message scans without its loops:
 * the same answers, the same bytes, on every shape of input (random strings and buffers over the
 * characters that matter, in random chunks).
 */
const load = createRequire(import.meta.url);

/** A small deterministic generator (xorshift32): the same cases on every run. */
function rng(seed: number) {
  let x = seed;
  return (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

describe('hasLongerLines', () => {
  // nodemailer's, as in mime-funcs (10.6.1).
  const nodemailers = (str: string, lineLength: number) =>
    str.length > 128 * 1024 ? true : new RegExp('^.{' + (lineLength + 1) + ',}', 'm').test(str);

  it('answers as nodemailer’s regex on random texts of every line terminator', () => {
    const next = rng(12);
    const units = ['a', 'a', 'a', 'a', 'a', '\n', '\r', '\r\n', '\u2028', '\u2029', 'é', '\ud83d\ude00', '\t', ' '];
    for (let n = 0; n < 4000; n++) {
      const lineLength = [0, 1, 5, 76, 77, 78][next(6)]!;
      let str = '';
      const parts = next(300);
      for (let i = 0; i < parts; i++) str += next(8) === 0 ? 'x'.repeat(next(100)) : units[next(units.length)]!;
      expect(hasLongerLines(str, lineLength), JSON.stringify({ str, lineLength })).toBe(nodemailers(str, lineLength));
    }
  });

  it('the edges: empty, exactly the length, one more, past 128 KB', () => {
    for (const [str, lineLength] of [
      ['', 76],
      ['x'.repeat(76), 76],
      ['x'.repeat(77), 76],
      [`${'x'.repeat(76)}\r${'x'.repeat(76)}`, 76],
      [`${'x'.repeat(76)}\n${'x'.repeat(77)}`, 76],
      [`${'x'.repeat(40)}\u2028${'x'.repeat(40)}`, 76],
      [`\n${'x'.repeat(77)}\n`, 76],
      ['x\n'.repeat(70_000), 76],
    ] as const) {
      expect(hasLongerLines(str, lineLength)).toBe(nodemailers(str, lineLength));
    }
  });

  it('is the one MimeNode uses once compose.ts has loaded nodemailer', async () => {
    const { mimeTree } = await import('../../src/send/compose.js');
    mimeTree({ from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], replyTo: [], subject: 's', text: 't', headers: {}, attachments: [] }, '<m@example.com>', new Date(0));
    expect((load('nodemailer/lib/mime-funcs') as { hasLongerLines: unknown }).hasLongerLines).toBe(hasLongerLines);
  });
});

describe('DataStream with the fast path', () => {
  type DataStream = Transform & { inByteCount: number; outByteCount: number };
  const mod = load('nodemailer/lib/smtp-connection/data-stream') as { default?: new () => DataStream } & (new () => DataStream);
  const DataStream = mod.default ?? mod;
  type Fn = Transform['_transform'];
  const proto = DataStream.prototype as unknown as { _transform: Fn & { nodemailer?: Fn } };
  installDataStreamFastPath(proto as Parameters<typeof installDataStreamFastPath>[0]);
  const nodemailers = proto._transform.nodemailer!;

  /** What a DataStream makes of `chunks`: its output and its counts. */
  async function through(chunks: Buffer[], own: boolean) {
    const s = new DataStream();
    if (own) s._transform = nodemailers;
    const out: Buffer[] = [];
    s.on('data', (c: Buffer) => out.push(c));
    const ended = new Promise((r) => s.on('end', r));
    for (const c of chunks) s.write(c);
    s.end();
    await ended;
    return { bytes: Buffer.concat(out).toString('latin1'), inBytes: s.inByteCount, outBytes: s.outByteCount };
  }

  it('the same bytes and counts as nodemailer’s own on random messages in random chunks', async () => {
    const next = rng(7);
    const bytes = ['x', 'x', 'x', 'x', '.', '\r', '\n', '\r\n', '\r\n.', '\r\n..', '\n.'];
    for (let n = 0; n < 1500; n++) {
      let text = '';
      const parts = next(40);
      for (let i = 0; i < parts; i++) text += bytes[next(bytes.length)];
      const message = Buffer.from(text, 'latin1');
      const chunks: Buffer[] = [];
      for (let at = 0; at < message.length; ) {
        const len = 1 + next(message.length - at);
        chunks.push(message.subarray(at, at + len));
        at += len;
      }
      expect(await through(chunks, false), JSON.stringify(chunks.map((c) => c.toString('latin1')))).toEqual(await through(chunks, true));
    }
  });

  it('a CRLF message with no dot at a line’s start is passed on as it is; bare line breaks and dots are repaired', () => {
    const clean = Buffer.from('a: b\r\n\r\nhello\r\nworld.\r\n');
    expect(dotStuffed(clean, false)).toBe(clean);
    expect(dotStuffed(Buffer.from('.a\nb\n.c\r.d\re'), false).toString()).toBe('..a\r\nb\r\n..c\r\n..d\r\ne');
    expect(dotStuffed(Buffer.from('\nb'), 0x0d).toString()).toBe('\nb');
    expect(dotStuffed(Buffer.from('.b'), 0x0d).toString()).toBe('\n..b');
  });
});

describe('MimeNode header names, remembered', () => {
  type Normalize = ((key: unknown) => string) & { nodemailer?: (key: unknown) => string };
  const mod = load('nodemailer/lib/mime-node') as { default?: { prototype: object }; prototype: object };
  const proto = (mod.default ?? mod).prototype as { _normalizeHeaderKey: Normalize };

  it('the same names as nodemailer’s, asked once and again, and it is the one MimeNode uses once compose.ts has loaded nodemailer', async () => {
    const { mimeTree } = await import('../../src/send/compose.js');
    mimeTree({ from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], replyTo: [], subject: 's', text: 't', headers: {}, attachments: [] }, '<m@example.com>', new Date(0));
    const normalize = proto._normalizeHeaderKey;
    expect(normalize.nodemailer).toBeTypeOf('function');
    const nodemailers = normalize.nodemailer!;
    const keys = ['content-type', 'CONTENT-TYPE', 'mime-version', 'x-smtpapi', 'dkim-signature', 'x-otp-token', 'received-spf', 'message-id', 'content-md5',
      'content-features', 'From: ceo@example.com (', ' x\tweird:key\x7f', '', 'list-id', 'arc-seal', 'bimi-selector', 'x-mailer', 'In-Reply-To'];
    for (const key of [...keys, ...keys]) expect(normalize.call({}, key), key).toBe(nodemailers.call({}, key));
    for (const key of [undefined, null, 0, 42]) expect(normalize.call({}, key)).toBe(nodemailers.call({}, key));
  });
});
