import { randomFillSync } from 'node:crypto';

export type IdPrefix = 'usr' | 'dom' | 'rte' | 'msg' | 'dlv' | 'key' | 'ses' | 'att' | 'app' | 'grt' | 'blk' | 'snd' | 'rcp' | 'evt';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower-case

/**
 * Random bytes drawn 4 KiB at a time (as node's randomUUID does): one randomFillSync per 409 ids
 * instead of a randomBytes() call and a Buffer each (issue 12: ~1 % of the send path's event
 * loop). The bytes are the same CSPRNG's; each is used once.
 */
const pool = Buffer.alloc(4096);
let poolAt = pool.length;

/** `n` bytes (at most 4,096) of the pool, each used once. */
function take(n: number): number {
  if (poolAt + n > pool.length) {
    randomFillSync(pool);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += n;
  return at;
}

/**
 * `n` random bytes as hex, from the same pool (issue 12: a send's Message-ID and MIME boundary
 * each called randomBytes, a randomFillSync and a Buffer apiece, ~0.8 % of its main thread).
 */
export function randomHex(n: number): string {
  const at = take(n);
  return pool.toString('hex', at, at + n);
}

let lastTime = 0;
/** The random part of the last id; incremented in place within one millisecond. */
const lastRandom = Buffer.alloc(10);
/** The time part of the last id, and the millisecond it encodes. */
let timeText = '';
let timeTextOf = -1;

/** 40 bits (five bytes from `at`) as eight base32 characters, most significant first. */
function base32Of40(b: Buffer, at: number): string {
  // Below 2^53: exact in a double.
  let v = b[at]! * 2 ** 32 + (((b[at + 1]! << 24) | (b[at + 2]! << 16) | (b[at + 3]! << 8) | b[at + 4]!) >>> 0);
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = ALPHABET[v % 32]! + out;
    v = Math.floor(v / 32);
  }
  return out;
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
    const at = take(lastRandom.length);
    pool.copy(lastRandom, 0, at, at + lastRandom.length);
  }
  if (now !== timeTextOf) {
    let time = '';
    let t = now;
    for (let i = 0; i < 10; i++) {
      time = ALPHABET[t % 32] + time;
      t = Math.floor(t / 32);
    }
    timeText = time;
    timeTextOf = now;
  }
  lastTime = now;
  return `${prefix}_${timeText}${base32Of40(lastRandom, 0)}${base32Of40(lastRandom, 5)}`;
}

/** True when `id` has the given prefix and the shape newId() makes. */
export function isId(id: string, prefix: IdPrefix): boolean {
  return id.length === prefix.length + 27 && id.startsWith(prefix + '_') && /^[0-9a-hjkmnp-tv-z]{26}$/.test(id.slice(prefix.length + 1));
}
