import { endianness } from 'node:os';
import iconv from 'iconv-lite';
import type { ChunkDecoder } from './chunk-decoder.js';

/**
 * The Shift_JIS decoder of the WHATWG Encoding Standard (§13.3), which is what Windows (cp932)
 * and browsers read: lead bytes F0–F9 are the user-defined area and map to the private use
 * area U+E000–U+E757, where Japanese carrier mail (docomo, au, SoftBank) puts its emoji.
 * iconv-lite has no mapping there, and after an unmapped lead it reads the trail byte again as
 * a character of its own (half-width katakana). Here an unmapped pair is one U+FFFD and only an
 * ASCII trail byte is read again, as the standard says.
 */
const LEADS = 60;
const TRAILS = 188;
const USER_DEFINED_FIRST = 8836;
const USER_DEFINED_LAST = 10715;

const leadByte = (row: number) => (row < 0x1f ? row + 0x81 : row + 0xc1);
const trailByte = (cell: number) => (cell < 0x3f ? cell + 0x40 : cell + 0x41);

let jis0208: Uint16Array | null = null;

/**
 * The JIS X 0208 index (pointer → code point, 0 = none), read once from iconv-lite's cp932
 * table: one decode per lead byte, each pair followed by a space that no pair decodes to.
 */
function index(): Uint16Array {
  if (jis0208) return jis0208;
  const table = new Uint16Array(LEADS * TRAILS);
  const single = (pair: Buffer) => iconv.decode(pair, 'shiftjis');
  for (let row = 0; row < LEADS; row++) {
    const pairs = Buffer.alloc(TRAILS * 3, 0x20);
    for (let cell = 0; cell < TRAILS; cell++) pairs.set([leadByte(row), trailByte(cell)], cell * 3);
    let pieces = iconv.decode(pairs, 'shiftjis').split(' ');
    // Should an unmapped pair swallow a separator, read that row one pair at a time.
    if (pieces.length !== TRAILS + 1) pieces = Array.from({ length: TRAILS }, (_, c) => single(pairs.subarray(c * 3, c * 3 + 2)));
    for (let cell = 0; cell < TRAILS; cell++) {
      const text = pieces[cell]!;
      if (text.length === 1 && text !== '\ufffd') table[row * TRAILS + cell] = text.charCodeAt(0);
    }
  }
  jis0208 = table;
  return table;
}

export class ShiftJisDecoder implements ChunkDecoder {
  private lead = 0;

  write(chunk: Buffer): string {
    const table = index();
    // One UTF-16 unit per byte at most, plus one for a lead left from the last chunk.
    const out = new Uint16Array(chunk.length + 1);
    let n = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.lead) {
        const lead = this.lead;
        this.lead = 0;
        let pointer = -1;
        if ((byte >= 0x40 && byte <= 0x7e) || (byte >= 0x80 && byte <= 0xfc)) {
          pointer = (lead - (lead < 0xa0 ? 0x81 : 0xc1)) * TRAILS + byte - (byte < 0x7f ? 0x40 : 0x41);
        }
        const code =
          pointer >= USER_DEFINED_FIRST && pointer <= USER_DEFINED_LAST
            ? 0xe000 - USER_DEFINED_FIRST + pointer
            : pointer >= 0
              ? table[pointer]!
              : 0;
        out[n++] = code || 0xfffd;
        if (!code && byte < 0x80) i--;
        continue;
      }
      if (byte <= 0x80) out[n++] = byte;
      else if (byte >= 0xa1 && byte <= 0xdf) out[n++] = 0xff61 - 0xa1 + byte;
      else if ((byte >= 0x81 && byte <= 0x9f) || (byte >= 0xe0 && byte <= 0xfc)) this.lead = byte;
      else out[n++] = 0xfffd;
    }
    const units = Buffer.from(out.buffer, 0, n * 2);
    if (endianness() === 'BE') units.swap16();
    return units.toString('utf16le');
  }

  end(): string {
    const rest = this.lead ? '\ufffd' : '';
    this.lead = 0;
    return rest;
  }
}
