import { describe, expect, it } from 'vitest';
import { Base64Decoder } from '../../src/parse/base64-decoder.js';
import { ShiftJisDecoder } from '../../src/parse/shift-jis.js';
import { Utf16Decoder } from '../../src/parse/utf16.js';
import { UudecodeStream } from '../../src/parse/uudecode.js';
import type { Transform } from 'node:stream';

/** Writes `input` one byte at a time: every state must survive a chunk boundary anywhere. */
async function byteByByte(stream: Transform, input: Buffer): Promise<Buffer> {
  const out: Buffer[] = [];
  stream.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve) => stream.on('end', resolve));
  for (const byte of input) stream.write(Buffer.from([byte]));
  stream.end();
  await ended;
  return Buffer.concat(out);
}

describe('decoders, a byte at a time', () => {
  it('base64: padding split from its line, a blank line, a pure line that continues, then the end', async () => {
    const input = Buffer.from('QQ==\r\n\r\nQg==\r\n--b-->\r\nQw==\r\n');
    expect((await byteByByte(new Base64Decoder(), input)).toString('latin1')).toBe('AB');
  });

  it('uuencode: "Cat" from "#0V%T"', async () => {
    const input = Buffer.from('begin 644 cat.txt\r\n#0V%T\r\n`\r\nend\r\n');
    expect((await byteByByte(new UudecodeStream(), input)).toString('latin1')).toBe('Cat');
  });

  it('Shift_JIS and UTF-16 keep a lead byte or half a code unit for the next chunk', () => {
    const sjis = new ShiftJisDecoder();
    const text = [0x83, 0x65, 0xf9, 0xd2, 0x41, 0xf9].map((b) => sjis.write(Buffer.from([b]))).join('') + sjis.end();
    expect(text).toBe('\u30c6\ue72dA\ufffd');
    const utf16 = new Utf16Decoder(false);
    const units = [0x61, 0x00, 0x3d, 0xd8, 0x00, 0xde, 0x63].map((b) => utf16.write(Buffer.from([b]))).join('') + utf16.end();
    expect(units).toBe('a\u{1f600}\ufffd');
  });
});
