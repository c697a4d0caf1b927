import { describe, expect, it } from 'vitest';
import { mime, parseRaw } from './parse-raw.js';

const digest = (...parts: string[]) =>
  mime(
    'From: list@sender.test',
    'To: b@example.com',
    'Subject: digest',
    'MIME-Version: 1.0',
    'Content-Type: multipart/digest; boundary=b',
    '',
    ...parts,
    '--b--',
  );

// One digest entry: no MIME headers of its own (the empty line), then the message.
const entry = ['--b', '', 'From: a@example.com', 'Subject: hi', '', 'body'];

describe('multipart/digest', () => {
  it('an untyped part of a digest is an attached message/rfc822 (RFC 2046 §5.1.5), not text', async () => {
    const { parsed, contents } = await parseRaw(digest(...entry));
    expect(parsed.text).toBe('');
    expect(parsed.attachments.map((a) => a.contentType)).toEqual(['message/rfc822']);
    expect(contents[0]!.toString('latin1')).toBe('From: a@example.com\r\nSubject: hi\r\n\r\nbody');

    // A part that names its type keeps it.
    const mixed = await parseRaw(digest(...entry, '--b', 'Content-Type: text/plain', '', 'typed'));
    expect(mixed.parsed.text).toBe('typed');
    expect(mixed.parsed.attachments.map((a) => a.contentType)).toEqual(['message/rfc822']);
  });
});
