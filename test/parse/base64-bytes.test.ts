import { randomBytes } from 'node:crypto';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Base64Decoder } from '../../src/parse/base64-decoder.js';

/** Feeds `input` to a fresh decoder in the given chunk sizes (cycled), returns what it produced. */
async function decode(input: Buffer, sizes: number[]): Promise<Buffer> {
  const d = new Base64Decoder();
  const out: Buffer[] = [];
  d.on('data', (c: Buffer) => out.push(c));
  const ended = new Promise((resolve) => d.on('end', resolve));
  for (let i = 0, k = 0; i < input.length; k++) {
    const n = sizes[k % sizes.length]!;
    d.write(input.subarray(i, i + n));
    i += n;
  }
  d.end();
  await ended;
  return Buffer.concat(out);
}

/** MIME's base64 body (RFC 2045 §6.8): 76-character lines, CRLF, padding on the last line. */
const mime = (data: Buffer) => Buffer.from(data.toString('base64').replace(/.{76}/g, '$&\r\n') + '\r\n');

describe('base64 bodies, decoded from the bytes (no string of the body)', () => {
  it('gives back the encoded bytes whatever the chunking, every length mod 3', async () => {
    for (let len = 0; len < 200; len++) {
      const data = randomBytes(len * 37 + (len % 3));
      const body = mime(data);
      const sizes = [1 + (len % 7), 64, 3, 65536, 5 + (len % 13)];
      expect((await decode(body, sizes)).equals(data), `length ${data.length}`).toBe(true);
    }
  });

  it('skips bytes outside the alphabet (spaces, tabs, bare LF, stray punctuation) as RFC 2045 says', async () => {
    const data = randomBytes(3000);
    const clean = data.toString('base64');
    // Noise everywhere but after the padding, where a line is judged on its own (decoders.test.ts).
    const body = Buffer.from(clean.replace(/.{10}/g, (s, i: number) => `${s}${['\t', ' ', '\n', '!', '\r\n', '*', ':'][i % 7]}`));
    expect((await decode(body, [17, 1, 4096])).equals(data)).toBe(true);
  });

  it('makes no string of the body: 32 MB of base64 in 64 KiB chunks takes a few young-generation collections, not one per ~16 MB of strings', async () => {
    const body = mime(randomBytes(24 * 1024 * 1024));
    let minor = 0;
    const obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
    });
    obs.observe({ entryTypes: ['gc'] });
    const d = new Base64Decoder();
    let size = 0;
    d.on('data', (c: Buffer) => (size += c.length));
    for (let i = 0; i < body.length; i += 65536) d.write(body.subarray(i, i + 65536));
    d.end();
    await new Promise((resolve) => setTimeout(resolve, 20));
    obs.disconnect();
    expect(size).toBe(24 * 1024 * 1024);
    // Three 64 KiB strings a chunk (the decoder before) came to 6–8 collections here; the bytes, 2.
    expect(minor).toBeLessThanOrEqual(4);
  });
});
