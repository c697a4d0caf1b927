import { Transform, type TransformCallback } from 'node:stream';

/** An incremental decoder from a charset to text, the shape of iconv-lite's getDecoder(). */
export interface ChunkDecoder {
  write(chunk: Buffer): string;
  end(): string | undefined;
}

/** Decodes a whole buffer with a fresh decoder. */
export function decodeAll(decoder: ChunkDecoder, bytes: Buffer): string {
  return decoder.write(bytes) + (decoder.end() ?? '');
}

/**
 * Bytes in a charset → UTF-8 bytes, the shape mailparser expects of a charset decode stream.
 * A chunk may end between the two halves of a surrogate pair; a lone half would become U+FFFD
 * on its way to UTF-8, so a trailing high surrogate waits for the next chunk.
 */
export class TextDecodeStream extends Transform {
  private high = '';

  constructor(private readonly decoder: ChunkDecoder) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.pushText(this.decoder.write(chunk), false);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  }

  override _flush(done: TransformCallback): void {
    try {
      this.pushText(this.decoder.end() ?? '', true);
    } catch (err) {
      done(err as Error);
      return;
    }
    done();
  }

  private pushText(decoded: string, final: boolean): void {
    let text = this.high + decoded;
    this.high = '';
    const last = text.charCodeAt(text.length - 1);
    if (!final && last >= 0xd800 && last <= 0xdbff) {
      this.high = text.slice(-1);
      text = text.slice(0, -1);
    }
    if (text) this.push(Buffer.from(text, 'utf8'));
  }
}
