import { randomBytes } from 'node:crypto';

export type IdPrefix = 'usr' | 'dom' | 'rte' | 'msg' | 'dlv' | 'key' | 'ses' | 'att' | 'app' | 'grt' | 'blk';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower-case

let lastTime = 0;
let lastRandom: Buffer = Buffer.alloc(10);

/**
 * A prefixed, time-sortable id: 10 characters of millisecond time then 16 of randomness
 * (ULID layout). Within one millisecond the random part is incremented, so ids made by this
 * process sort in creation order, which cursor pagination relies on.
 */
export function newId(prefix: IdPrefix, now: number = Date.now()): string {
  let random: Buffer;
  if (now <= lastTime) {
    now = lastTime;
    random = Buffer.from(lastRandom);
    for (let i = random.length - 1; i >= 0; i--) {
      random[i] = (random[i]! + 1) & 0xff;
      if (random[i] !== 0) break;
    }
  } else {
    random = randomBytes(10);
  }
  lastTime = now;
  lastRandom = random;
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

/** True when `id` has the given prefix and the shape newId() makes. */
export function isId(id: string, prefix: IdPrefix): boolean {
  return id.length === prefix.length + 27 && id.startsWith(prefix + '_') && /^[0-9a-hjkmnp-tv-z]{26}$/.test(id.slice(prefix.length + 1));
}
