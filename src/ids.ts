import { randomFillSync } from 'node:crypto';

export type IdPrefix = 'usr' | 'dom' | 'rte' | 'msg' | 'dlv' | 'key' | 'ses' | 'att' | 'app' | 'grt' | 'blk' | 'snd' | 'rcp' | 'evt';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower-case

let lastTime = 0;
const lastRandom = new Uint8Array(10);

/**
 * Random bytes are drawn 1,000 ids' worth at a time, and encoded without BigInt: a randomBytes
 * call (OpenSSL and a Buffer) and the BigInt arithmetic per id were ~0.8 % of the main thread in
 * the ingest bench (issue 14), ~5 µs an id against ~0.9 µs now. Each id still takes bytes no
 * other id took.
 */
const POOL = Buffer.alloc(10 * 1000);
let poolAt = POOL.length;

/** The integer `n` (below 2^53) as its last `count` characters of base32, most significant first. */
function base32(n: number, count: number): string {
  let out = '';
  for (let i = 0; i < count; i++) {
    out = ALPHABET[n % 32]! + out;
    n = Math.floor(n / 32);
  }
  return out;
}

/** 5 bytes from `at`, big-endian, as a number (40 bits: exact in a double). */
const uint40 = (b: Uint8Array, at: number) => b[at]! * 2 ** 32 + (((b[at + 1]! << 24) | (b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!) >>> 0);

/**
 * The id of `now` (ms) and 10 random bytes: the time as 10 characters, then the 80 bits as 16
 * (two halves of 40 bits, 8 characters each: 40 is a multiple of 5, so no character straddles them).
 */
export function encodeId(prefix: IdPrefix, now: number, random: Uint8Array): string {
  return `${prefix}_${base32(now, 10)}${base32(uint40(random, 0), 8)}${base32(uint40(random, 5), 8)}`;
}

/**
 * A prefixed, time-sortable id: 10 characters of millisecond time then 16 of randomness
 * (ULID layout). Within one millisecond the random part is incremented, so ids made by this
 * process sort in creation order, which cursor pagination relies on.
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  if (now <= lastTime) {
    now = lastTime;
    for (let i = lastRandom.length - 1; i >= 0; i--) {
      lastRandom[i] = (lastRandom[i]! + 1) & 0xff;
      if (lastRandom[i] !== 0) break;
    }
  } else {
    if (poolAt === POOL.length) {
      randomFillSync(POOL);
      poolAt = 0;
    }
    lastRandom.set(POOL.subarray(poolAt, poolAt + 10));
    poolAt += 10;
  }
  lastTime = now;
  return encodeId(prefix, now, lastRandom);
}

/** True when `id` has the given prefix and the shape newId() makes. */
export function isId(id: string, prefix: IdPrefix): boolean {
  return id.length === prefix.length + 27 && id.startsWith(prefix + '_') && /^[0-9a-hjkmnp-tv-z]{26}$/.test(id.slice(prefix.length + 1));
}
