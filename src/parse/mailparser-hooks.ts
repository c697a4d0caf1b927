import type { Transform } from 'node:stream';
import type { MailParser } from 'mailparser';
import { Base64Decoder } from './base64-decoder.js';
import { TextDecodeStream } from './chunk-decoder.js';
import { resolveCharset } from './charset.js';
import { decodeWordWith, escapeRawBytesInWords, type DecodeWord } from './encoded-word.js';
import { UUENCODE_NAMES, UudecodeStream } from './uudecode.js';

/** A MIME node as mailsplit (under mailparser) builds it. */
interface SplitNode {
  contentType: string | false;
  encoding: string | false;
  multipart: string | false;
  parentNode: SplitNode | false;
  headers: { get(key: string): unknown[] };
  libmime: { decodeWord: DecodeWord };
  getDecoder(): Transform;
}

/** The parts of mailparser 3.x that the decoding runs through; none of them is public API. */
interface Internals {
  createNode(node: SplitNode): { charset?: string };
  processHeaders(lines: { key: string; line: string }[]): unknown;
  decoder: { decodeStream(charset: string): Transform };
  libmime: { decodeWord: DecodeWord };
  splitter: { node: SplitNode; newNode(parent?: SplitNode | false): void };
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
 * Fixes the decoding beneath mailparser where it goes wrong, on this one parser instance
 * (nothing global is patched): charset labels (charset.ts), 8-bit bytes inside encoded words,
 * base64 that runs into the epilogue, uuencoded parts and the default type of digest parts.
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
    const getDecoder = node.getDecoder.bind(node);
    node.getDecoder = () => transferDecoder(node, getDecoder);
    const created = createNode(node);
    // mailparser decodes "us-ascii" as UTF-8 without asking its decoder: give it the real name.
    if (created.charset) created.charset = resolveCharset(created.charset).name;
    return created;
  };

  const processHeaders = p.processHeaders.bind(p);
  p.processHeaders = (lines) => processHeaders(lines.map((l) => ({ ...l, line: escapeRawBytesInWords(l.line) })));

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
