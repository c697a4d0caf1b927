/**
 * `Buffer.from(JSON.stringify(value), 'utf8')`, byte for byte, for the plain data a webhook event
 * is (objects, arrays, strings, numbers, booleans, null), with less garbage on the event loop.
 *
 * V8's JSON.stringify builds its result in parts that double from 32 bytes and hands back a cons
 * string, which Buffer.from must flatten before copying: ~25 KB allocated for the ~9 KB body of
 * the bench message, whose text is escaped twice (`text` and `reply.text`): 11 % of all the bytes
 * the server allocated per message (issue 14). Here the body is written into one Buffer in pieces:
 * each long string escaped on its own by JSON.stringify (V8's escaping is faster than any loop
 * in JS), a long string that is the start of one written before (the reply of most mail is the
 * text, less its last line end) copied from the bytes already escaped, and the rest of the event
 * in as few JSON.stringify calls as its long strings allow.
 */

/** Shorter strings are left to JSON.stringify: a long string's bookkeeping costs more than it saves. */
const LONG = 256;

interface Long {
  s: string;
  /** JSON.stringify(s), quotes included; '' when `of` is set. */
  json: string;
  /** A long string written before of which this one is the start (its quotes not included), or null. */
  of: Long | null;
  /** Its escaped length in bytes, quotes included. */
  n: number;
  /** Where its escaped bytes begin in the body (set when written). */
  at: number;
}

/** What JSON.stringify writes for a control character, a quote or a backslash: its length − 1. */
const ESCAPE_EXTRA = new Uint8Array(128);
for (let c = 0; c < 0x20; c++) ESCAPE_EXTRA[c] = 5;
for (const c of [0x08, 0x09, 0x0a, 0x0c, 0x0d, 0x22, 0x5c]) ESCAPE_EXTRA[c] = 1;
const keyJson = new Map<string, string>();

/** `known`: a long string's JSON already at hand (the text's, cut from its row: db/messages.ts). */
export function jsonBody(value: unknown, known?: { s: string; json: string }): Buffer {
  // The body as it goes: text pieces, each followed by a long string (the last by none).
  const texts: string[] = [];
  const longs: Long[] = [];
  let text = '';

  const addLong = (s: string) => {
    const l: Long = { s, json: '', of: null, n: 0, at: 0 };
    if (wellFormed(s)) {
      for (const o of longs) {
        if (o.of !== null || o.s.length < s.length || !wellFormed(o.s)) continue;
        if (o.s.length === s.length ? o.s !== s : o.s.slice(0, s.length) !== s) continue;
        // Its escapes are those of o's start: o's own, less those of o's tail (or counted, if shorter).
        const tail = o.s.length - s.length;
        const extra = tail <= s.length ? o.n - 2 - Buffer.byteLength(o.s, 'utf8') - escapeExtra(o.s, s.length, o.s.length) : escapeExtra(s, 0, s.length);
        l.of = o;
        l.n = 2 + Buffer.byteLength(s, 'utf8') + extra;
        break;
      }
    }
    if (l.of === null) {
      l.json = known !== undefined && s === known.s ? known.json : JSON.stringify(s);
      l.n = Buffer.byteLength(l.json, 'utf8');
    }
    texts.push(text);
    text = '';
    longs.push(l);
  };

  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (v.length >= LONG) addLong(v);
      else text += JSON.stringify(v);
    } else if (typeof v !== 'object' || v === null || !plain(v) || !holdsLong(v, 3)) {
      // One call for all of it: numbers, booleans, null, a part of the event without a long string.
      text += JSON.stringify(v) ?? 'null';
    } else if (Array.isArray(v)) {
      text += '[';
      for (let i = 0; i < v.length; i++) {
        if (i > 0) text += ',';
        const e: unknown = v[i];
        if (e === undefined || typeof e === 'function' || typeof e === 'symbol') text += 'null';
        else walk(e);
      }
      text += ']';
    } else {
      // Members without a long string go in runs, one JSON.stringify each (its braces cut off).
      let run: Record<string, unknown> | null = null;
      let sep = '{';
      const flush = () => {
        if (run === null) return;
        const json = JSON.stringify(run);
        run = null;
        if (json.length > 2) {
          text += sep + json.slice(1, -1);
          sep = ',';
        }
      };
      for (const k of Object.keys(v)) {
        const e = (v as Record<string, unknown>)[k];
        if (e === undefined || typeof e === 'function' || typeof e === 'symbol') continue;
        if (k === '__proto__' || (typeof e === 'string' ? e.length >= LONG : typeof e === 'object' && e !== null && holdsLong(e, 2))) {
          flush();
          let kj = keyJson.get(k);
          if (kj === undefined) {
            kj = JSON.stringify(k) + ':';
            if (keyJson.size < 1000) keyJson.set(k, kj);
          }
          text += sep + kj;
          sep = ',';
          walk(e);
        } else {
          // (A member named __proto__ took the other way: here it would set the prototype.)
          (run ??= {})[k] = e;
        }
      }
      flush();
      text += sep === '{' ? '{}' : '}';
    }
  };
  walk(value);
  texts.push(text);

  let size = 0;
  for (const t of texts) size += Buffer.byteLength(t, 'utf8');
  for (const l of longs) size += l.n;
  const body = Buffer.allocUnsafe(size);
  let at = 0;
  for (let i = 0; i < texts.length; i++) {
    at += body.write(texts[i]!, at, 'utf8');
    const l = longs[i];
    if (!l) break;
    l.at = at;
    if (l.of) {
      body[at] = 0x22;
      body.copyWithin(at + 1, l.of.at + 1, l.of.at + l.n - 1);
      body[at + l.n - 1] = 0x22;
      at += l.n;
    } else {
      at += body.write(l.json, at, 'utf8');
    }
  }
  if (at !== size) throw new Error(`jsonBody wrote ${at} of ${size} bytes`);
  return body;
}

/**
 * Whether v holds a string of LONG characters or more within `depth` levels (the event's are at
 * most three down). A miss costs only a whole JSON.stringify of v, never a byte of the body.
 */
function holdsLong(v: object, depth: number): boolean {
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (longIn(v[i], depth)) return true;
    return false;
  }
  for (const k in v) if (longIn((v as Record<string, unknown>)[k], depth)) return true;
  return false;
}

const longIn = (e: unknown, depth: number): boolean =>
  typeof e === 'string' ? e.length >= LONG : depth > 1 && typeof e === 'object' && e !== null && holdsLong(e, depth - 1);

/** String.prototype.isWellFormed (Node 20; not in this TypeScript lib): no lone surrogate, no copy. */
const wellFormed = (s: string): boolean => (s as string & { isWellFormed(): boolean }).isWellFormed();

function plain(v: object): boolean {
  const proto: unknown = Object.getPrototypeOf(v);
  return (proto === Object.prototype || proto === Array.prototype || proto === null) && !('toJSON' in v);
}

/** What JSON.stringify's escapes add to the UTF-8 of s[from, to) (every escaped character is ASCII, one byte). */
function escapeExtra(s: string, from: number, to: number): number {
  let extra = 0;
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) extra += ESCAPE_EXTRA[c]!;
  }
  return extra;
}
