import { Transform, type TransformCallback } from 'node:stream';

const PURE_LINE = /^[A-Za-z0-9+/]+=*$/;
const EQUALS = 0x3d;

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Each byte's 6-bit value in the base64 alphabet, -1 for a byte outside it. */
const VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) VALUE[ALPHABET.charCodeAt(i)] = i;
// A line after the padding is judged once it ends; one this long without a break counts as base64.
const MAX_JUDGED_LINE = 64 * 1024;

/**
 * Base64 content-transfer-encoding (RFC 2045 §6.8) that ends where the data ends. Characters
 * outside the alphabet are skipped, as libbase64 does, but once "=" padding has closed the data,
 * decoding goes on only on a line that is pure base64 (some encoders join padded segments).
 * Anything else ends the part: a malformed closing delimiter ("--b-->") and the epilogue after
 * it are not part of the attachment, though libbase64 decoded them into it.
 */
export class Base64Decoder extends Transform {
  /** Alphabet characters not yet decoded (fewer than four once a chunk is done). */
  private quad = '';
  /** After padding: the line being judged, or null while data is flowing. */
  private judged: string | null = null;
  private ended = false;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    // The bulk of a body (no padding in this chunk, none before it): decoded byte by byte, with no
    // string made of it. A 40 MB attachment went through three 64 KiB strings a chunk (the text,
    // the text cleaned, the slice decoded): ~165 MB of garbage in the young generation of the
    // thread parsing it, which the collector let grow to its full size.
    if (this.judged === null && !this.ended && chunk.indexOf(EQUALS) < 0) {
      this.decodeBytes(chunk);
      done();
      return;
    }
    let text = chunk.toString('latin1');
    while (text && !this.ended) {
      if (this.judged === null) {
        const pad = text.indexOf('=');
        this.decode(pad < 0 ? text : text.slice(0, pad), pad >= 0);
        if (pad < 0) break;
        this.judged = '';
        text = text.slice(pad).replace(/^=+/, '');
        continue;
      }
      const eol = text.indexOf('\n');
      let piece = eol < 0 ? text : text.slice(0, eol);
      text = eol < 0 ? '' : text.slice(eol + 1);
      // The rest of a padding split across chunks ("QQ=" then "=").
      if (this.judged === '') piece = piece.replace(/^=+/, '');
      // Only the new piece is scanned: a long line may arrive a byte at a time.
      if (/[^A-Za-z0-9+/=\s]/.test(piece)) this.ended = true;
      else if (eol < 0) {
        this.judged += piece;
        if (this.judged.length > MAX_JUDGED_LINE) this.dataAfterPadding();
      } else {
        const line = (this.judged + piece).trim();
        if (!line) this.judged = '';
        else if (PURE_LINE.test(line)) {
          this.judged = line;
          this.dataAfterPadding();
        } else this.ended = true;
      }
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.judged && PURE_LINE.test(this.judged.trim())) this.dataAfterPadding();
    this.decode('', true);
    done();
  }

  /** The line after the padding is data after all: decode it, segment by padded segment. */
  private dataAfterPadding(): void {
    const line = this.judged ?? '';
    this.judged = null;
    for (const segment of line.match(/[A-Za-z0-9+/]+=*/g) ?? []) {
      const padded = segment.endsWith('=');
      this.decode(segment, padded);
      this.judged = padded ? '' : null;
    }
  }

  /**
   * `decode(chunk, false)` without strings: the alphabet bytes after `quad`, whole groups of four
   * decoded into one buffer, the rest (fewer than four) kept in `quad`.
   */
  private decodeBytes(chunk: Buffer): void {
    const out = Buffer.allocUnsafe(Math.floor(((chunk.length + this.quad.length) * 3) / 4) + 3);
    let written = 0;
    let group = 0;
    let held = 0;
    // What `quad` holds comes first: fewer than four alphabet characters from the chunk before.
    for (let i = 0; i < this.quad.length; i++) {
      group = (group << 6) | VALUE[this.quad.charCodeAt(i)]!;
      held++;
    }
    for (let i = 0; i < chunk.length; i++) {
      const v = VALUE[chunk[i]!]!;
      if (v < 0) continue;
      group = (group << 6) | v;
      if (++held === 4) {
        out[written++] = group >> 16;
        out[written++] = (group >> 8) & 0xff;
        out[written++] = group & 0xff;
        group = 0;
        held = 0;
      }
    }
    let rest = '';
    for (let k = held - 1; k >= 0; k--) rest += ALPHABET[(group >> (6 * k)) & 0x3f];
    this.quad = rest;
    if (written > 0) this.push(out.subarray(0, written));
  }

  /** Decodes whole groups of four; `closed` (padding or the end) decodes the rest too. */
  private decode(text: string, closed: boolean): void {
    const data = this.quad + text.replace(/[^A-Za-z0-9+/]/g, '');
    const whole = closed ? data.length : data.length - (data.length % 4);
    this.quad = data.slice(whole);
    if (whole > 0) this.push(Buffer.from(data.slice(0, whole), 'base64'));
  }
}
