import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { encodeId, isId, newId } from '../src/ids.js';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/** The encoding as it was before issue 14's change (BigInt over the 80 bits): the reference. */
function reference(prefix: string, now: number, random: Uint8Array): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let bits = 0n;
  for (const b of random) bits = (bits << 8n) | BigInt(b);
  let rand = '';
  for (let i = 0; i < 16; i++) {
    rand = ALPHABET[Number(bits & 31n)] + rand;
    bits >>= 5n;
  }
  return `${prefix}_${time}${rand}`;
}

/** The 80 random bits of an id, as a number to compare. */
const randomPart = (id: string) => [...id.slice(-16)].reduce((n, c) => n * 32n + BigInt(ALPHABET.indexOf(c)), 0n);

describe('ids', () => {
  it('encode as before, byte for byte (random bytes, all-zero, all-ones, high bits set)', () => {
    const cases: Uint8Array[] = [new Uint8Array(10), new Uint8Array(10).fill(0xff), Uint8Array.from([0x80, 0, 0, 0, 0, 0x80, 0xff, 0, 0, 1])];
    for (let i = 0; i < 5000; i++) cases.push(randomBytes(10));
    for (const [i, r] of cases.entries()) {
      const now = 1_700_000_000_000 + i * 7919;
      expect(encodeId('msg', now, r)).toBe(reference('msg', now, r));
    }
    expect(encodeId('dlv', 2 ** 50 - 1, new Uint8Array(10).fill(0xff))).toBe(`dlv_${'z'.repeat(26)}`);
  });

  it('have the shape isId checks, and differ', () => {
    const ids = Array.from({ length: 3000 }, (_, i) => newId('msg', 1_700_000_000_000 + i));
    for (const id of ids) expect(isId(id, 'msg')).toBe(true);
    expect(new Set(ids.map((id) => id.slice(-16))).size).toBe(ids.length);
  });

  it('within one millisecond (or a clock that went back) count up by one, so they sort in creation order', () => {
    const now = 1_800_000_000_000;
    const ids = [newId('att', now), newId('att', now), newId('att', now - 5), newId('att', now)];
    for (let i = 1; i < ids.length; i++) {
      expect(ids[i]!.slice(0, 14)).toBe(ids[0]!.slice(0, 14));
      expect(randomPart(ids[i]!) - randomPart(ids[i - 1]!)).toBe(1n);
    }
    expect([...ids].sort()).toEqual(ids);
  });
});
