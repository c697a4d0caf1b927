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
const POINTERS = 188 * 60;
const USER_DEFINED_FIRST = 8836;
const USER_DEFINED_LAST = 10715;

let jis0208: Uint16Array | null = null;

function pointerBytes(pointer: number): Buffer {
  const lead = Math.floor(pointer / 188);
  const trail = pointer % 188;
  return Buffer.from([lead < 0x1f ? lead + 0x81 : lead + 0xc1, trail < 0x3f ? trail + 0x40 : trail + 0x41]);
}

/** The JIS X 0208 index (pointer → code point, 0 = none), read once from iconv-lite's cp932 table. */
function index(): Uint16Array {
  if (jis0208) return jis0208;
  const table = new Uint16Array(POINTERS);
  for (let p = 0; p < POINTERS; p++) {
    if (p >= USER_DEFINED_FIRST && p <= USER_DEFINED_LAST) continue;
    const text = iconv.decode(pointerBytes(p), 'shiftjis');
    if (text.length === 1 && text !== '\ufffd') table[p] = text.charCodeAt(0);
  }
  jis0208 = table;
  return table;
}

export class ShiftJisDecoder implements ChunkDecoder {
  private lead = 0;

  write(chunk: Buffer): string {
    const table = index();
    let out = '';
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i]!;
      if (this.lead) {
        const lead = this.lead;
        this.lead = 0;
        let pointer = -1;
        if ((byte >= 0x40 && byte <= 0x7e) || (byte >= 0x80 && byte <= 0xfc)) {
          pointer = (lead - (lead < 0xa0 ? 0x81 : 0xc1)) * 188 + byte - (byte < 0x7f ? 0x40 : 0x41);
        }
        if (pointer >= USER_DEFINED_FIRST && pointer <= USER_DEFINED_LAST) {
          out += String.fromCharCode(0xe000 - USER_DEFINED_FIRST + pointer);
          continue;
        }
        const code = pointer >= 0 ? table[pointer]! : 0;
        if (code) {
          out += String.fromCharCode(code);
          continue;
        }
        out += '\ufffd';
        if (byte < 0x80) i--;
        continue;
      }
      if (byte <= 0x80) out += String.fromCharCode(byte);
      else if (byte >= 0xa1 && byte <= 0xdf) out += String.fromCharCode(0xff61 - 0xa1 + byte);
      else if ((byte >= 0x81 && byte <= 0x9f) || (byte >= 0xe0 && byte <= 0xfc)) this.lead = byte;
      else out += '\ufffd';
    }
    return out;
  }

  end(): string {
    const rest = this.lead ? '\ufffd' : '';
    this.lead = 0;
    return rest;
  }
}
