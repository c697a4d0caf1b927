import type { Transform } from 'node:stream';

/**
 * Two of nodemailer's per-message scans, answered the same way at a fraction of the cost
 * (issue 12: server CPU per sent message; bench/README.md, "Issue 12, session 10"). Each is
 * installed on nodemailer's own module when it is loaded (compose.ts, transfer.ts) and falls back
 * to nodemailer's code for anything it does not answer itself; test/send/nodemailer-fast.test.ts
 * compares both with nodemailer's on every shape of input.
 */

/**
 * mime-funcs' hasLongerLines(str, lineLength): whether a line of `str` is longer than
 * `lineLength`, as `new RegExp('^.{' + (lineLength + 1) + ',}', 'm').test(str)` decides it (and
 * true past 128 KB, unread). MimeNode.setContent() asks it for every text part: on a 4 KB text
 * the multiline regex took 70-90 µs a message, this 5 µs. A `.` is any UTF-16 unit but the four
 * line terminators (LF, CR, U+2028, U+2029) and `^` follows one of them or the start, so the regex
 * matches exactly when more than `lineLength` other units run in a row. Only the stretches
 * between two LFs longer than that are read unit by unit.
 */
export function hasLongerLines(str: string, lineLength: number): boolean {
  if (str.length > 128 * 1024) return true;
  let start = 0;
  for (;;) {
    const end = str.indexOf('\n', start);
    const stop = end === -1 ? str.length : end;
    if (stop - start > lineLength) {
      let run = 0;
      for (let i = start; i < stop; i++) {
        const c = str.charCodeAt(i);
        if (c === 0x0d || c === 0x2028 || c === 0x2029) run = 0;
        else if (++run > lineLength) return true;
      }
    }
    if (end === -1) return false;
    start = end + 1;
  }
}

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const INSERT_CR = Buffer.from('\r');
const INSERT_LF = Buffer.from('\n');
const INSERT_LF_DOT = Buffer.from('\n.');
const INSERT_DOT = Buffer.from('.');

/**
 * What smtp-connection's DataStream makes of `chunk`, given the byte before it (`prev`, false at
 * the start of the message): a bare LF gets its CR, a bare CR its LF (and a dot after it one
 * more dot), a dot at the start of a line one more dot; `chunk` itself when nothing changes.
 * DataStream decides that with a JavaScript loop over every byte; every place where it inserts
 * anything is the start of the chunk, an LF, or the byte after a CR or an LF, so here only those
 * are looked at, found with Buffer.indexOf. A text sent through the API has bare LFs (JSON's
 * "\n"), which nodemailer's composer leaves as they are for 7bit: each gets its CR here.
 */
export function dotStuffed(chunk: Buffer, prev: number | false): Buffer {
  const parts: Buffer[] = [];
  let from = 0;
  let length = 0;
  const insert = (at: number, bytes: Buffer) => {
    if (at > from) {
      parts.push(chunk.subarray(from, at));
      length += at - from;
    }
    parts.push(bytes);
    length += bytes.length;
    from = at;
  };
  const first = chunk[0];
  if (prev === CR && first !== LF) insert(0, first === DOT ? INSERT_LF_DOT : INSERT_LF);
  else if (first === DOT && (prev === LF || prev === false)) insert(0, INSERT_DOT);
  let cr = chunk.indexOf(CR);
  let lf = chunk.indexOf(LF);
  while (cr !== -1 || lf !== -1) {
    if (lf === -1 || (cr !== -1 && cr < lf)) {
      const next = chunk[cr + 1];
      if (next !== undefined && next !== LF) insert(cr + 1, next === DOT ? INSERT_LF_DOT : INSERT_LF);
      cr = chunk.indexOf(CR, cr + 1);
    } else {
      if ((lf ? chunk[lf - 1] : prev) !== CR) insert(lf, INSERT_CR);
      if (chunk[lf + 1] === DOT) insert(lf + 1, INSERT_DOT);
      lf = chunk.indexOf(LF, lf + 1);
    }
  }
  if (!parts.length) return chunk;
  if (from < chunk.length) {
    parts.push(chunk.subarray(from));
    length += chunk.length - from;
  }
  return Buffer.concat(parts, length);
}

/** The fields of nodemailer's DataStream that its _transform keeps. */
interface DataStream extends Transform {
  inByteCount: number;
  outByteCount: number;
  lastByte: number | false;
}

type TransformFn = (this: DataStream, chunk: Buffer | string, encoding: BufferEncoding, done: (err?: Error | null) => void) => void;
const installed = new WeakSet<object>();

/**
 * DataStream's _transform (dot-stuffing and line-break repair, a JavaScript loop over every byte:
 * ~1.3 % of the send path's main thread) by dotStuffed(): for a Buffer, the same push and the
 * same counts as DataStream's own; a string (never written by transfer.ts) goes through
 * nodemailer's code.
 */
export function installDataStreamFastPath(proto: { _transform: TransformFn }): void {
  if (installed.has(proto)) return;
  installed.add(proto);
  const original = proto._transform;
  const fast: TransformFn & { nodemailer?: TransformFn } = function (chunk, encoding, done) {
    if (!Buffer.isBuffer(chunk) || !chunk.length) return original.call(this, chunk, encoding, done);
    const out = dotStuffed(chunk, this.lastByte);
    this.inByteCount += chunk.length;
    this.outByteCount += out.length;
    this.push(out);
    this.lastByte = chunk[chunk.length - 1]!;
    done();
  };
  // nodemailer's own, for the tests that compare the two.
  fast.nodemailer = original;
  proto._transform = fast;
}

/** mime-funcs with its hasLongerLines replaced by the one above (MimeNode calls it through the module). */
export function installHasLongerLines(mimeFuncs: { hasLongerLines: (str: string, lineLength: number) => boolean }): void {
  mimeFuncs.hasLongerLines = hasLongerLines;
}

/** Header names kept normalized at most; past that the memo starts again empty. */
const MAX_HEADER_KEYS = 1_000;

/**
 * MimeNode's _normalizeHeaderKey (four regular expressions over the name, ~15 calls a message:
 * every setHeader, getHeader and encodeHeaderValue; ~1.2 % of the send path's main thread),
 * remembered per name: it is a function of the name alone. Anything but a string goes through
 * nodemailer's code each time.
 */
export function installHeaderKeyMemo(proto: { _normalizeHeaderKey: (key: unknown) => string }): void {
  if (installed.has(proto)) return;
  installed.add(proto);
  const original = proto._normalizeHeaderKey;
  const memo = new Map<string, string>();
  const fast: ((key: unknown) => string) & { nodemailer?: (key: unknown) => string } = function (this: unknown, key: unknown) {
    if (typeof key !== 'string') return original.call(this, key);
    let normalized = memo.get(key);
    if (normalized === undefined) {
      normalized = original.call(this, key);
      if (memo.size >= MAX_HEADER_KEYS) memo.clear();
      memo.set(key, normalized);
    }
    return normalized;
  };
  fast.nodemailer = original;
  proto._normalizeHeaderKey = fast;
}
