import iconv from 'iconv-lite';
import { decodeAll, type ChunkDecoder } from './chunk-decoder.js';
import { ShiftJisDecoder } from './shift-jis.js';
import { Utf16Decoder } from './utf16.js';
import { whatwgEncoding } from './whatwg-labels.js';

/**
 * How text in a given charset label is decoded. `own`: by Mailhook (iconv-lite or a decoder in
 * this folder). `library`: by mailparser's own decoder (libmime), under `name`: UTF-8, the
 * multi-byte charsets whose chunked decoding libmime already repairs, the Japanese charsets it
 * decodes with encoding-japanese, and labels nobody here knows (libmime then falls back to UTF-8).
 */
export type Charset = { kind: 'own'; name: string; decoder: () => ChunkDecoder } | { kind: 'library'; name: string };

const iconvDecoder = (name: string) => () => iconv.getDecoder(name);

/** WHATWG encoding → how it is decoded; single-byte ones not listed go to iconv-lite by name. */
const BY_ENCODING: Record<string, Charset> = {
  'UTF-8': { kind: 'library', name: 'utf-8' },
  'EUC-JP': { kind: 'library', name: 'euc-jp' },
  'ISO-2022-JP': { kind: 'library', name: 'iso-2022-jp' },
  // The WHATWG GBK decoder is the gb18030 decoder; Big5 is Big5-HKSCS; EUC-KR is Microsoft's cp949.
  GBK: { kind: 'library', name: 'gb18030' },
  gb18030: { kind: 'library', name: 'gb18030' },
  Big5: { kind: 'library', name: 'big5hkscs' },
  'EUC-KR': { kind: 'library', name: 'cp949' },
  Shift_JIS: { kind: 'own', name: 'shift_jis', decoder: () => new ShiftJisDecoder() },
  'UTF-16LE': { kind: 'own', name: 'utf-16le', decoder: () => new Utf16Decoder(false) },
  'UTF-16BE': { kind: 'own', name: 'utf-16be', decoder: () => new Utf16Decoder(true) },
  'ISO-8859-8-I': { kind: 'own', name: 'iso-8859-8', decoder: iconvDecoder('iso-8859-8') },
  'KOI8-U': { kind: 'own', name: 'koi8-ru', decoder: iconvDecoder('koi8-ru') },
  'x-mac-cyrillic': { kind: 'own', name: 'maccyrillic', decoder: iconvDecoder('maccyrillic') },
  IBM866: { kind: 'own', name: 'cp866', decoder: iconvDecoder('cp866') },
};

/** Windows code pages that are multi-byte, named by number ("charset=936"): their WHATWG encoding. */
const MULTIBYTE_CODE_PAGES: Record<string, string> = { '932': 'Shift_JIS', '936': 'GBK', '949': 'EUC-KR', '950': 'Big5' };

/**
 * UTF-7 (RFC 2152). libmime refuses it because "+ADw-script+AD4-" decodes to "<script>" past a
 * filter that looks for "<"; Mailhook filters nothing by bytes and sends text as JSON, so refusing
 * only turns a readable message into "+AOk-" noise.
 */
const UTF7 = iconv.getCodec('utf-7');

function fromWhatwg(encoding: string): Charset {
  const known = BY_ENCODING[encoding];
  if (known) return known;
  const name = encoding.toLowerCase();
  return { kind: 'own', name, decoder: iconvDecoder(name) };
}

const resolved = new Map<string, Charset>();

/**
 * What a charset label in a message means. WHATWG Encoding Standard labels first (as browsers
 * and mail clients read them: us-ascii and iso-8859-1 are windows-1252). A bare or prefixed code
 * page number ("437", "cp850", "ibm437") goes to iconv-lite under its cpNNN name: libmime would
 * rewrite "437" into "iso-8859-437", which nothing knows, and decode the text as UTF-8.
 */
export function resolveCharset(label: string): Charset {
  let charset = resolved.get(label);
  if (!charset) {
    // Bounded: a sender chooses the labels, one message can hold thousands of encoded words.
    if (resolved.size >= 512) resolved.clear();
    charset = resolve(label);
    resolved.set(label, charset);
  }
  return charset;
}

function resolve(label: string): Charset {
  const key = label.trim().toLowerCase();
  const encoding = whatwgEncoding(key);
  if (encoding) return fromWhatwg(encoding);
  const page = /^(?:cp|ibm|ms|windows|x-cp)?[-_]?(\d{3,5})$/.exec(key)?.[1];
  if (page) {
    const named = MULTIBYTE_CODE_PAGES[page] ?? whatwgEncoding(`cp${page}`);
    if (named) return fromWhatwg(named);
    if (iconv.encodingExists(`cp${page}`)) return { kind: 'own', name: `cp${page}`, decoder: iconvDecoder(`cp${page}`) };
  }
  if (iconv.encodingExists(key) && iconv.getCodec(key) === UTF7) {
    return { kind: 'own', name: 'utf-7', decoder: iconvDecoder('utf-7') };
  }
  return { kind: 'library', name: label };
}

/** Decodes bytes with an `own` charset in one go (encoded words). */
export function decodeOwn(charset: Extract<Charset, { kind: 'own' }>, bytes: Buffer): string {
  return decodeAll(charset.decoder(), bytes);
}
