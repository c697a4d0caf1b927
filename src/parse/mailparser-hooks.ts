import type { Transform } from 'node:stream';
import type { MailParser } from 'mailparser';
import { Base64Decoder } from './base64-decoder.js';
import { TextDecodeStream } from './chunk-decoder.js';
import { resolveCharset } from './charset.js';
import { decodeWordWith, escapeRawBytesInWords, type DecodeWord } from './encoded-word.js';
import { decodeRawHeader, recodeRawHeader } from './raw-header.js';
import type { OrdinaryLimits } from './ordinary.js';
import { UUENCODE_NAMES, UudecodeStream } from './uudecode.js';

interface HeaderValue {
  value: string;
  params: Record<string, string | undefined>;
  decodedParams?: string[];
}

/** A MIME node as mailsplit (under mailparser) builds it. */
interface SplitNode {
  contentType: string | false;
  encoding: string | false;
  multipart: string | false;
  filename: string | false;
  parentNode: SplitNode | false;
  headers: { get(key: string): unknown[]; getList(): { key: string; line: string }[] };
  libmime: {
    decodeWord: DecodeWord;
    decodeWords(text: string): string;
    decodeHeader(line: string): { value?: string };
    parseHeaderValue(value: string, options: { stripComments: boolean }): HeaderValue;
  };
  getDecoder(): Transform;
  addHeaderChunk(line: Buffer): boolean;
}

/** The parts of mailparser 3.x that the decoding runs through; none of them is public API. */
interface Internals {
  createNode(node: SplitNode): { charset?: string; isAttachment?: boolean; decoder?: Transform };
  processHeaders(lines: { key: string; line: string }[]): unknown;
  decoder: { decodeStream(charset: string): Transform };
  libmime: { decodeWord: DecodeWord };
  splitter: { node: SplitNode; newNode(parent?: SplitNode | false): void; emit(event: 'error', err: Error): boolean };
}

function internals(parser: MailParser): Internals {
  const p = parser as unknown as Partial<Internals>;
  const fine =
    typeof p.createNode === 'function' &&
    typeof p.processHeaders === 'function' &&
    typeof p.decoder?.decodeStream === 'function' &&
    typeof p.libmime?.decodeWord === 'function' &&
    typeof p.splitter?.newNode === 'function' &&
    typeof p.splitter.node?.libmime?.decodeWord === 'function';
  // Fails every parse (and the tests) at once if an upgrade of mailparser moves these.
  if (!fine) throw new Error('mailparser internals changed: src/parse/mailparser-hooks.ts needs updating');
  return p as Internals;
}

/** RFC 2046 §5.1.5: in a multipart/digest, a part without a Content-Type is a message/rfc822. */
const untypedDigestPart = (node: SplitNode) =>
  node.parentNode !== false && node.parentNode.multipart === 'digest' && node.headers.get('Content-Type').length === 0;

function transferDecoder(node: SplitNode, library: () => Transform): Transform {
  const encoding = node.encoding || '';
  if (encoding === 'base64') return new Base64Decoder();
  if (UUENCODE_NAMES.has(encoding)) return new UudecodeStream();
  return library();
}

const ownWords = (libmime: { decodeWord: DecodeWord }) => {
  libmime.decodeWord = decodeWordWith(libmime.decodeWord.bind(libmime));
};

/**
 * mailsplit reads a filename field's raw bytes as UTF-8 only when no U+FFFD comes out (so a
 * name that holds a real U+FFFD, or a UTF-8 name cut mid-character, is read as Latin-1 mojibake)
 * and leaves 8-bit bytes inside encoded words to be decoded twice. Where those fields hold 8-bit
 * bytes the name is read again, as mailsplit reads it but with the header fields read as
 * decodeRawHeader reads every header: the same steps, on the right text.
 */
function attachmentName(node: SplitNode): string | false {
  const lines = node.headers.getList();
  const disposition = lines.find((l) => l.key === 'content-disposition')?.line;
  const type = lines.find((l) => l.key === 'content-type')?.line;
  if (!node.filename || !/[\x80-\xff]/.test((disposition ?? '') + (type ?? ''))) return node.filename;
  const { libmime } = node;
  const parse = (line: string | undefined) => {
    const value = line ? (libmime.decodeHeader(decodeRawHeader(escapeRawBytesInWords(line))).value ?? '') : '';
    return libmime.parseHeaderValue(value.trim(), { stripComments: true });
  };
  const d = parse(disposition);
  const t = parse(type);
  const [from, param] = d.params.filename ? [d, 'filename'] : [t, 'name'];
  const name = from.params[param];
  if (!name) return node.filename;
  // An RFC 2231 value was decoded by parseHeaderValue already; it is not an encoded word.
  if (from.decodedParams?.includes(param)) return name;
  try {
    return libmime.decodeWords(name);
  } catch {
    return name;
  }
}

/**
 * Fixes the decoding beneath mailparser where it goes wrong, on this one parser instance
 * (nothing global is patched): charset labels (charset.ts), 8-bit bytes inside encoded words,
 * raw 8-bit header bytes (raw-header.ts) in headers and attachment names, base64 that runs into
 * the epilogue, uuencoded parts and the default type of digest parts.
 */
export function installDecodingFixes(parser: MailParser): void {
  const p = internals(parser);

  const library = p.decoder;
  p.decoder = {
    decodeStream(label: string) {
      const charset = resolveCharset(label);
      return charset.kind === 'own' ? new TextDecodeStream(charset.decoder()) : library.decodeStream(charset.name);
    },
  };

  const createNode = p.createNode.bind(p);
  p.createNode = (node) => {
    if (untypedDigestPart(node)) node.contentType = 'message/rfc822';
    node.filename = attachmentName(node);
    const getDecoder = node.getDecoder.bind(node);
    node.getDecoder = () => transferDecoder(node, getDecoder);
    const created = createNode(node);
    // mailparser decodes "us-ascii" as UTF-8 without asking its decoder: give it the real name.
    if (created.charset) created.charset = resolveCharset(created.charset).name;
    return created;
  };

  const processHeaders = p.processHeaders.bind(p);
  // mailparser reads each line's bytes as UTF-8 (U+FFFD where they are not): it gets them as
  // decodeRawHeader reads them, after the bytes inside encoded words went to their own charset.
  p.processHeaders = (lines) =>
    processHeaders(lines.map((l) => ({ ...l, line: recodeRawHeader(escapeRawBytesInWords(l.line)) })));

  ownWords(p.libmime);
  // Attachment names are decoded by mailsplit, one libmime per MIME node.
  const splitter = p.splitter;
  ownWords(splitter.node.libmime);
  const newNode = splitter.newNode.bind(splitter);
  splitter.newNode = (parent) => {
    newNode(parent);
    ownWords(splitter.node.libmime);
  };
}

/**
 * Stops the parse (`fail`, once, as mailsplit fails on its own limits: the parser emits 'error')
 * as soon as the message goes past `limits` (src/parse/ordinary.ts), before the step that would
 * cost the event loop: a header block is measured line by line as mailsplit collects it, before it
 * is parsed; a text body as it is written to its decoder, before it is converted; the depth as
 * each part starts. Observes only: a message within the limits parses exactly as without it.
 */
export function installOrdinaryGuard(parser: MailParser, limits: OrdinaryLimits, fail: (reason: string) => Error): void {
  const p = internals(parser);
  const splitter = p.splitter;
  let failed = false;
  const stop = (reason: string) => {
    if (failed) return;
    failed = true;
    splitter.emit('error', fail(reason));
  };
  let headerBytes = 0;
  let textBytes = 0;
  const measureHeader = (node: SplitNode) => {
    const add = node.addHeaderChunk.bind(node);
    let fields = 0;
    node.addHeaderChunk = (line) => {
      if (failed) return false;
      headerBytes += line.length;
      if (line.length > 0 && line[0] !== 0x20 && line[0] !== 0x09 && line[0] !== 0x0a && line[0] !== 0x0d) fields++;
      if (headerBytes > limits.headerBytes) stop(`header blocks over ${limits.headerBytes} bytes`);
      else if (fields > limits.headerFields) stop(`a header block of over ${limits.headerFields} fields`);
      return failed ? false : add(line);
    };
  };
  measureHeader(splitter.node);
  const newNode = splitter.newNode.bind(splitter);
  splitter.newNode = (parent) => {
    newNode(parent);
    let depth = 0;
    for (let n = splitter.node.parentNode; n && depth <= limits.depth; n = n.parentNode) depth++;
    if (depth > limits.depth) stop(`parts nested over ${limits.depth} deep`);
    measureHeader(splitter.node);
  };
  const createNode = p.createNode.bind(p);
  p.createNode = (node) => {
    const created = createNode(node);
    const decoder = created.decoder;
    // Not an attachment: mailparser collects this body whole and converts it at the end.
    if (decoder && !created.isAttachment) {
      const write = decoder.write.bind(decoder) as (chunk: Buffer) => boolean;
      decoder.write = ((chunk: Buffer) => {
        textBytes += chunk.length;
        if (textBytes > limits.textBytes) stop(`text bodies over ${limits.textBytes} bytes`);
        return failed ? true : write(chunk);
      }) as typeof decoder.write;
    }
    return created;
  };
}
