import { Transform, type TransformCallback } from 'node:stream';

/** Content-Transfer-Encoding names Eudora, old Outlook and others write for uuencoded parts. */
export const UUENCODE_NAMES = new Set(['x-uuencode', 'uuencode', 'x-uue', 'uue']);

const BEGIN = /^begin\s+[0-7]+\s+\S/;
// Lines of uuencoded data are at most 61 characters; the lines before "begin" are kept (see
// below) and this bounds how many: without a "begin" within them the part is not uuencoded.
const MAX_PREAMBLE = 64 * 1024;
const MAX_LINE = 1024;

/**
 * Decodes a uuencoded part (POSIX uuencode: "begin <mode> <name>", lines of a length character
 * and groups of four 6-bit characters offset by 32, a zero-length line, "end"). A part with no
 * "begin" line is passed on as it is, so nothing is lost; lines after "end" are not data.
 */
export class UudecodeStream extends Transform {
  private state: 'preamble' | 'data' | 'done' | 'raw' = 'preamble';
  private line = '';
  private preamble: Buffer[] = [];
  private preambleBytes = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    if (this.state === 'raw') return done(null, chunk);
    let start = 0;
    for (let eol = chunk.indexOf(0x0a); eol >= 0; eol = chunk.indexOf(0x0a, start)) {
      this.addBytes(chunk.subarray(start, eol + 1));
      start = eol + 1;
    }
    if (start < chunk.length) this.addBytes(chunk.subarray(start), false);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.line) this.endLine();
    if (this.state === 'preamble') this.passRaw();
    done();
  }

  private addBytes(bytes: Buffer, complete = true): void {
    if (this.state === 'raw') return void this.push(bytes);
    if (this.state === 'preamble') {
      this.preamble.push(Buffer.from(bytes));
      this.preambleBytes += bytes.length;
    }
    if (this.line.length < MAX_LINE) this.line += bytes.toString('latin1').slice(0, MAX_LINE);
    if (complete) this.endLine();
    if (this.state === 'preamble' && this.preambleBytes > MAX_PREAMBLE) this.passRaw();
  }

  private endLine(): void {
    const line = this.line.replace(/\r?\n$/, '');
    this.line = '';
    if (this.state === 'preamble') {
      if (BEGIN.test(line)) {
        this.state = 'data';
        this.preamble = [];
      }
    } else if (this.state === 'data') {
      if (line.length === 0) return;
      const length = (line.charCodeAt(0) - 32) & 63;
      if (length === 0 || /^end\s*$/.test(line)) this.state = 'done';
      else this.push(decodeLine(line, length));
    }
  }

  private passRaw(): void {
    this.state = 'raw';
    for (const b of this.preamble) this.push(b);
    this.preamble = [];
  }
}

/** One data line: `length` bytes from groups of four characters after the length character. */
function decodeLine(line: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  // Senders and gateways strip trailing spaces, which encode zero bits: a missing character is 0.
  const at = (i: number) => (i < line.length ? (line.charCodeAt(i) - 32) & 63 : 0);
  for (let n = 0, i = 1; n < length; i += 4) {
    const c0 = at(i);
    const c1 = at(i + 1);
    const c2 = at(i + 2);
    const c3 = at(i + 3);
    out[n++] = (c0 << 2) | (c1 >> 4);
    if (n < length) out[n++] = ((c1 << 4) | (c2 >> 2)) & 0xff;
    if (n < length) out[n++] = ((c2 << 6) | c3) & 0xff;
  }
  return out;
}
