import { decodeOwn, resolveCharset } from './charset.js';

/** One RFC 2047 encoded word, as libmime finds them (charset, Q or B, text). */
const WORD = /=\?([\w_\-*]+)\?([QqBb])\?([^?]*)\?=/g;

/**
 * mailparser reads a header line as UTF-8 before it decodes the encoded words in it (RFC 6532
 * allows raw UTF-8 in headers), so an 8-bit byte written raw inside an encoded word
 * (`=?iso-8859-1?Q?Fr<F6>sche?=`, as some senders do) is U+FFFD before its charset is known.
 * Those bytes belong to the word's charset: written as =XX they reach the word's decoder
 * intact. Takes and returns a header line as a binary (latin1) string; a B word is left alone,
 * 8-bit bytes are not base64.
 */
export function escapeRawBytesInWords(line: string): string {
  if (!/[\x80-\xff]/.test(line)) return line;
  return line.replace(WORD, (word, charset: string, encoding: string, text: string) => {
    if (encoding.toUpperCase() !== 'Q' || !/[\x80-\xff]/.test(text)) return word;
    const escaped = text.replace(/[\x80-\xff]/g, (c) => '=' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
    return `=?${charset}?${encoding}?${escaped}?=`;
  });
}

const HEX = /^[0-9A-Fa-f]{2}$/;

/** The bytes of a Q word's text (RFC 2047 §4.2), read as leniently as libmime reads them. */
function qBytes(text: string): Buffer {
  const src = Buffer.from(text.replace(/=\s+([0-9a-fA-F])/g, '=$1').replace(/[_\s]/g, ' '), 'utf8');
  const out: number[] = [];
  for (let i = 0; i < src.length; i++) {
    const pair = src[i] === 0x3d ? src.toString('latin1', i + 1, i + 3) : '';
    if (HEX.test(pair)) {
      out.push(parseInt(pair, 16));
      i += 2;
    } else out.push(src[i]!);
  }
  return Buffer.from(out);
}

/** The bytes of a B word's text: padded segments one after another, as libbase64 reads them. */
function bBytes(text: string): Buffer {
  const segments = text.replace(/[^A-Za-z0-9+/=]/g, '').match(/[A-Za-z0-9+/]+=*/g) ?? [];
  return Buffer.concat(segments.map((s) => Buffer.from(s, 'base64')));
}

export type DecodeWord = (charset: string, encoding: string, text: string) => string;

/**
 * Replaces libmime's decodeWord: the charset label is read as resolveCharset() reads it
 * (WHATWG labels, code page numbers, UTF-7, Shift_JIS user-defined area); what libmime
 * decodes well (UTF-8, the multi-byte and Japanese charsets) still goes to it.
 */
export function decodeWordWith(library: DecodeWord): DecodeWord {
  return (charset, encoding, text) => {
    // RFC 2231 §5: a language tag after "*" is not part of the charset.
    const label = charset.split('*')[0]!;
    const resolved = resolveCharset(label);
    if (resolved.kind === 'library') return library(resolved.name, encoding, text);
    const mode = encoding.toUpperCase();
    const bytes = mode === 'Q' ? qBytes(text) : mode === 'B' ? bBytes(text) : Buffer.from(text, 'utf8');
    return decodeOwn(resolved, bytes);
  };
}
