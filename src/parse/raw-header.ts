import { decodeOwn, resolveCharset } from './charset.js';

// ignoreBOM: a byte order mark is kept as the character it is, never silently dropped.
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const UTF8_LENIENT = new TextDecoder('utf-8', { ignoreBOM: true });
// The same windows-1252 that bodies labelled us-ascii or iso-8859-1 are read with (Node's own
// TextDecoder reads "windows-1252" as ISO-8859-1, 0x85 as U+0085 rather than "…").
const WINDOWS_1252 = resolveCharset('windows-1252');

/** One well-formed UTF-8 multi-byte sequence (Unicode Table 3-7), in a binary (latin1) string. */
const UTF8_SEQUENCE =
  /[\xc2-\xdf][\x80-\xbf]|\xe0[\xa0-\xbf][\x80-\xbf]|[\xe1-\xec\xee\xef][\x80-\xbf]{2}|\xed[\x80-\x9f][\x80-\xbf]|\xf0[\x90-\xbf][\x80-\xbf]{2}|[\xf1-\xf3][\x80-\xbf]{3}|\xf4[\x80-\x8f][\x80-\xbf]{2}/;

function legacy(bytes: Buffer): string {
  return WINDOWS_1252.kind === 'own' ? decodeOwn(WINDOWS_1252, bytes) : bytes.toString('latin1');
}

/**
 * The text of a header field whose 8-bit bytes were written raw (outside encoded words), given
 * as the binary (latin1) string mailsplit reads headers into. RFC 6532 makes them UTF-8. A field
 * that is not valid UTF-8 but holds a UTF-8 sequence was written in UTF-8 and damaged (cut
 * mid-character, say): each ill-formed sequence is U+FFFD, as the WHATWG decoder reads it. A
 * field with no UTF-8 in it is legacy 8-bit mail, read as windows-1252 as mail clients read it
 * in Western locales (`Subject: Fr<F6>sche` is "Frösche", not "Fr\uFFFDsche").
 */
export function decodeRawHeader(binary: string): string {
  if (!/[\x80-\xff]/.test(binary)) return binary;
  const bytes = Buffer.from(binary, 'latin1');
  try {
    return UTF8.decode(bytes);
  } catch {
    return UTF8_SEQUENCE.test(binary) ? UTF8_LENIENT.decode(bytes) : legacy(bytes);
  }
}

/** decodeRawHeader's reading as the binary string of its UTF-8 bytes, which mailparser takes. */
export function recodeRawHeader(binary: string): string {
  return /[\x80-\xff]/.test(binary) ? Buffer.from(decodeRawHeader(binary), 'utf8').toString('latin1') : binary;
}
