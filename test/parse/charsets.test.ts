import { describe, expect, it } from 'vitest';
import { bytes, parseRaw, textMessage } from './parse-raw.js';

/**
 * Body charsets (issue #20, and UTF-7 bodies from #11). Expected text comes from the code page
 * tables and the WHATWG Encoding Standard, as a browser or Windows would show the bytes.
 */
const text = async (contentType: string, body: Buffer | string, encoding?: string) =>
  (await parseRaw(textMessage(contentType, body, encoding))).parsed.text;

describe('body charsets', () => {
  it('a bare code page number is that code page: "437" and "850" 0x94 is ö', async () => {
    expect(await text('text/plain; charset=437', bytes(0x94, 'nly'))).toBe('\u00f6nly\n');
    expect(await text('text/plain; charset="850"', bytes(0x94, 'nly'))).toBe('\u00f6nly\n');
    expect(await text('text/plain; charset=cp-437', bytes(0x94, 'nly'))).toBe('\u00f6nly\n');
  });

  it('Shift_JIS user-defined area (carrier emoji) is private use, and the trail byte is not read again', async () => {
    // WHATWG Shift_JIS decoder: F9 D2 is pointer 10673 → U+E000 − 8836 + 10673 = U+E72D.
    expect(await text('text/plain; charset=Shift_JIS', bytes(0x83, 0x65, 0xf9, 0xd2, 0x41))).toBe('\u30c6\ue72dA\n');
    // F0 40 is the first pointer of the area (8836 → U+E000); x-sjis is a WHATWG label of the same.
    expect(await text('text/plain; charset=x-sjis', bytes(0xf0, 0x40))).toBe('\ue000\n');
    // An unmapped pair is one U+FFFD; its ASCII trail byte is read again as itself.
    expect(await text('text/plain; charset=shift_jis', bytes(0x85, 0x41, 'b'))).toBe('\ufffdAb\n');
  });

  it('an 8-bit byte in a part labelled us-ascii (or iso-8859-1) is windows-1252, as WHATWG labels say', async () => {
    expect(await text('text/plain; charset=us-ascii', bytes('na', 0xef, 've'))).toBe('na\u00efve\n');
    expect(await text('text/plain; charset=iso-8859-1', bytes(0x80, ' 5'))).toBe('\u20ac 5\n');
  });

  it('a trailing odd byte of UTF-16 is U+FFFD, not dropped', async () => {
    // 61 00 62 00 63: "a", "b", then one byte that is no code unit.
    expect(await text('text/plain; charset=utf-16le', 'YQBiAGM=', 'base64')).toBe('ab\ufffd');
    // A byte order mark wins over the label (WHATWG "decode"): FE FF then 00 61 00 62 is big-endian "ab".
    expect(await text('text/plain; charset=utf-16', '/v8AYQBi', 'base64')).toBe('ab');
  });

  it('a UTF-7 body is decoded (RFC 2152)', async () => {
    // "+APY-" is U+00F6, "+AOQ-" U+00E4.
    expect(await text('text/plain; charset=utf-7', 'Die Fr+APY-sche, +AOQ-'))
      .toBe('Die Fr\u00f6sche, \u00e4\n');
  });

  it('the same text whatever the chunk boundaries (a pair split across chunks)', async () => {
    const raw = textMessage('text/plain; charset=Shift_JIS', bytes(0x83, 0x65, 0xf9, 0xd2, 0x41, 0x83, 0x65));
    for (const chunk of [1, 2, 3, 7]) expect((await parseRaw(raw, chunk)).parsed.text).toBe('\u30c6\ue72dA\u30c6\n');
  });
});
