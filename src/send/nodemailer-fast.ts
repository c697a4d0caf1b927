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

/**
 * Whether smtp-connection's DataStream would pass `chunk` on unchanged, given the byte before it
 * (`prev`, false at the start of the message): every CR followed by LF (a CR at the chunk's end
 * is the next chunk's to judge, as in DataStream), every LF preceded by CR, no dot at the start of
 * a line. A message Mailhook composed (CRLF throughout) passes unless a line starts with a dot.
 * Found with Buffer.indexOf, not a JavaScript loop over every byte.
 */
export function passesUnchanged(chunk: Buffer, prev: number | false): boolean {
  const first = chunk[0];
  if (first === undefined) return true;
  if (prev === 0x0d && first !== 0x0a) return false;
  if (first === 0x2e && (prev === 0x0a || prev === false)) return false;
  for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) {
    if ((i ? chunk[i - 1] : prev) !== 0x0d || chunk[i + 1] === 0x2e) return false;
  }
  for (let i = chunk.indexOf(0x0d); i !== -1; i = chunk.indexOf(0x0d, i + 1)) {
    if (i + 1 < chunk.length && chunk[i + 1] !== 0x0a) return false;
  }
  return true;
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
 * ~1.3 % of the send path's main thread) with a first look: a Buffer that passes unchanged is
 * pushed as DataStream pushes it then (the same Buffer, the same counts); any other chunk goes
 * through nodemailer's own code.
 */
export function installDataStreamFastPath(proto: { _transform: TransformFn }): void {
  if (installed.has(proto)) return;
  installed.add(proto);
  const original = proto._transform;
  const fast: TransformFn & { nodemailer?: TransformFn } = function (chunk, encoding, done) {
    if (!Buffer.isBuffer(chunk) || !chunk.length || !passesUnchanged(chunk, this.lastByte)) return original.call(this, chunk, encoding, done);
    this.inByteCount += chunk.length;
    this.outByteCount += chunk.length;
    this.push(chunk);
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
