import { describe, expect, it } from 'vitest';
import { bytes, mime, parseRaw } from './parse-raw.js';

/**
 * Raw 8-bit header bytes and attachment-name controls, case by case, through the real parser.
 * Expected values are hand-written from RFC 6532 (raw header bytes are UTF-8), RFC 5322 §2.2.3
 * (unfolding) and README "MIME" (legacy 8-bit fields are windows-1252; control characters in
 * attachment names become one space).
 */
const field = async (line: Buffer | string) => {
  const { parsed } = await parseRaw(mime('From: a@sender.test', line, 'X-After: ok', '', 'body'));
  return parsed.headers.find((h) => h.name === 'X-Field')?.value;
};

const attachmentName = async (...disposition: (Buffer | string)[]) => {
  const { parsed } = await parseRaw(
    mime('From: a@sender.test', 'Content-Type: application/octet-stream', ...disposition, 'Content-Transfer-Encoding: base64', '', 'aGk='),
  );
  return parsed.attachments[0]?.filename;
};

describe('raw 8-bit bytes in header fields', () => {
  it.each([
    ['UTF-8 (RFC 6532)', bytes('X-Field: na', 0xc3, 0xaf, 've ', 0xe2, 0x82, 0xac), 'naïve €'],
    ['a 4-byte UTF-8 character', bytes('X-Field: ', 0xf0, 0x9f, 0x93, 0x8e), '📎'],
    ['windows-1252 when no byte sequence is UTF-8', bytes('X-Field: na', 0xef, 've ', 0x80, ' ', 0x93, 'q', 0x94), 'naïve € “q”'],
    ['U+FFFD for what is broken in a field that is UTF-8 elsewhere', bytes('X-Field: ', 0xc3, 0xa9, 't', 0xe9), 'ét\uFFFD'],
    ['an encoded word stays as written in headers[]', 'X-Field: =?utf-8?Q?caf=C3=A9?=', '=?utf-8?Q?caf=C3=A9?='],
  ])('%s', async (_case, line, expected) => {
    expect(await field(line)).toBe(expected);
  });

  it('subject and display name read the same bytes the same way as headers[]', async () => {
    const { parsed } = await parseRaw(
      mime(bytes('From: Ren', 0xe9, ' <r@sender.test>'), bytes('Subject: Gr', 0xc3, 0xbc, 0xc3, 0x9f, 'e'), '', 'body'),
    );
    expect(parsed.from).toEqual({ address: 'r@sender.test', name: 'René' });
    expect(parsed.subject).toBe('Grüße');
    expect(parsed.headers.map((h) => h.value)).toEqual(['Ren\u00e9 <r@sender.test>', 'Grüße']);
  });
});

describe('control characters in attachment names', () => {
  it.each([
    ['folded with a tab inside the quoted name', ['Content-Disposition: attachment; filename="long', '\tname.pdf"'], 'long name.pdf'],
    ['spaces written by the sender are kept', ['Content-Disposition: attachment; filename="  two  spaces .txt"'], '  two  spaces .txt'],
    ['controls at either end go, inside they are one space', ["Content-Disposition: attachment; filename*=utf-8''%0A%00a%01%02b%7F"], 'a b'],
    ['C1 controls too', ['Content-Disposition: attachment; filename="=?utf-8?Q?x=C2=9By.txt?="'], 'x y.txt'],
    ['a name without controls is untouched', ['Content-Disposition: attachment; filename="report (v2).pdf"'], 'report (v2).pdf'],
  ])('%s', async (_case, lines, expected) => {
    expect(await attachmentName(...lines)).toBe(expected);
  });
});
