import { describe, expect, it } from 'vitest';
import { isId, newId, randomHex } from '../src/ids.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const decode = (text: string) => [...text].reduce((n, c) => n * 32n + BigInt(ALPHABET.indexOf(c)), 0n);

/** ids: ULID layout, time-sortable, monotonic within one millisecond (src/ids.ts draws its randomness from a pool). */
describe('newId', () => {
  it('10 characters of the millisecond, then 80 random bits, incremented by one within the same millisecond', () => {
    const now = Date.UTC(2030, 0, 1) + Math.floor(Math.random() * 1000);
    const ids = Array.from({ length: 5 }, () => newId('snd', now));
    for (const id of ids) {
      expect(isId(id, 'snd')).toBe(true);
      expect(Number(decode(id.slice(4, 14)))).toBe(now);
    }
    const randoms = ids.map((id) => decode(id.slice(14)));
    for (let i = 1; i < randoms.length; i++) expect(randoms[i]! - randoms[i - 1]!).toBe(1n);
    // An earlier clock (a step back) still sorts after: the last millisecond is kept.
    const back = newId('snd', now - 5);
    expect(back > ids.at(-1)!).toBe(true);
    expect(Number(decode(back.slice(4, 14)))).toBe(now);
  });

  it('every random character takes every value across many milliseconds, and ids sort in creation order', () => {
    const start = Date.UTC(2031, 0, 1);
    const ids = Array.from({ length: 3000 }, (_, i) => newId('rcp', start + i));
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
    for (let pos = 14; pos < 30; pos++) {
      // 80 random bits in 16 characters of 5: each position is uniform over 32 values.
      expect(new Set(ids.map((id) => id[pos])).size).toBe(32);
    }
  });
});

/** randomHex: the same pool's bytes as hex (a send's Message-ID and MIME boundary, issue 12). */
describe('randomHex', () => {
  it('n bytes as 2n hex characters, never twice the same across refills of the pool, and every digit in every place', () => {
    const seen = new Set<string>();
    const digits = Array.from({ length: 32 }, () => new Set<string>());
    for (let i = 0; i < 5000; i++) {
      const hex = randomHex(16);
      expect(hex).toMatch(/^[0-9a-f]{32}$/);
      seen.add(hex);
      for (let p = 0; p < 32; p++) digits[p]!.add(hex[p]!);
    }
    expect(seen.size).toBe(5000);
    for (const d of digits) expect(d.size).toBe(16);
    expect(randomHex(8)).toMatch(/^[0-9a-f]{16}$/);
  });

  it('Message-IDs and MIME boundaries come from it: random, as before', async () => {
    const { mimeTree, newMessageId } = await import('../src/send/compose.js');
    expect(newMessageId('example.com')).toMatch(/^<[0-9a-f]{32}@example\.com>$/);
    const c = { from: 'a@example.com', to: ['b@example.com'], cc: [], bcc: [], replyTo: [], subject: 's', text: 't', html: '<p>t</p>', headers: {}, attachments: [] };
    const boundaries = [mimeTree(c, '<m@x>', new Date(0)), mimeTree(c, '<m@x>', new Date(0))].map((t) => (t as unknown as { baseBoundary: string }).baseBoundary);
    expect(boundaries[0]).toMatch(/^[0-9a-f]{16}$/);
    expect(boundaries[0]).not.toBe(boundaries[1]);
  });
});
