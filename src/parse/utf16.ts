import type { ChunkDecoder } from './chunk-decoder.js';

/**
 * UTF-16 as the WHATWG Encoding Standard decodes it: a byte order mark wins over the label
 * (the "decode" algorithm sniffs it), the bare "utf-16" label means little-endian, and an odd
 * byte left at the end is an error that shows as U+FFFD. iconv-lite drops that byte without a
 * trace; text must never lose bytes silently.
 */
export class Utf16Decoder implements ChunkDecoder {
  private pending: Buffer = Buffer.alloc(0);
  private sniffed = false;

  constructor(private bigEndian: boolean) {}

  write(chunk: Buffer): string {
    let bytes = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
    if (!this.sniffed) {
      if (bytes.length < 2) {
        this.pending = Buffer.from(bytes);
        return '';
      }
      this.sniffed = true;
      const bom = bytes.readUInt16BE(0);
      if (bom === 0xfffe || bom === 0xfeff) {
        this.bigEndian = bom === 0xfeff;
        bytes = bytes.subarray(2);
      }
    }
    const even = bytes.length - (bytes.length % 2);
    // Copied: the caller may reuse the chunk it wrote.
    this.pending = Buffer.from(bytes.subarray(even));
    const units = Buffer.from(bytes.subarray(0, even));
    if (this.bigEndian) units.swap16();
    return units.toString('utf16le');
  }

  end(): string {
    const odd = this.pending.length > 0;
    this.pending = Buffer.alloc(0);
    return odd ? '\ufffd' : '';
  }
}
