import { createRequire } from 'node:module';
import type { Transform } from 'node:stream';

/**
 * MimeNode.build() without its streams: the same bytes, made in one synchronous walk of the tree
 * MailComposer compiled. build() streams every node through a PassThrough, a `stream.pipeline`
 * (an AbortController per message), the QP or base64 encoder as a stream, a LastNewline
 * transform and a `setImmediate` per node; for a 4 KB message that was ~300 µs of the event loop,
 * four times the compile itself (bench/README.md, "Issue 12, throughput, third part: composing
 * and signing"). Here each node's headers come from its own `buildHeaders()` and its content goes
 * through nodemailer's own encoder, called as a Transform is by its stream (`_transform`, then
 * `_flush`), so the encoding is nodemailer's byte for byte. The walk follows `MimeNode.stream()` (boundaries, the final line
 * break) but asks for a node's transfer encoding once, not twice. A tree with anything build()
 * would have to read or transform (a stream, a file, a URL, raw content, transforms, a newline
 * option) is not walked: null, and the caller builds it the streaming way.
 * test/send/compose.test.ts compares the two on every shape of message.
 */

/** The parts of nodemailer's MimeNode read here (internal fields included: the walk is stream()'s). */
export interface MimeTree {
  content?: unknown;
  contentType?: string;
  multipart?: string | false;
  boundary?: string;
  childNodes: MimeTree[];
  _raw?: unknown;
  _transforms: unknown[];
  _processFuncs: unknown[];
  newline?: unknown;
  getHeader(key: string): unknown;
  buildHeaders(): string;
}

type EncoderClass = new (options: object) => Transform;
const load = createRequire(import.meta.url);
let encoders: { qp: EncoderClass; base64: EncoderClass } | undefined;
const Encoders = () =>
  (encoders ??= {
    qp: (load('nodemailer/lib/qp') as { Encoder: EncoderClass }).Encoder,
    base64: (load('nodemailer/lib/base64') as { Encoder: EncoderClass }).Encoder,
  });

const walkable = (node: MimeTree): boolean =>
  !node._raw && (!node.content || typeof node.content === 'string' || Buffer.isBuffer(node.content)) && node.childNodes.every(walkable);

/** The message MimeNode.build() makes of `root`, or null when it has content that must be streamed. */
export function buildMime(root: MimeTree): Buffer | null {
  if (root._transforms.length || root._processFuncs.length || root.newline || !walkable(root)) return null;
  const parts: Buffer[] = [];
  // false only if nodemailer's encoders stop finishing at once; build() then builds the headers
  // again, as it would on a second build() of the same tree.
  if (!write(root, parts)) return null;
  // LastNewline: the message ends with a line break (no part is empty, so the last byte is the last part's).
  const last = parts.at(-1)?.at(-1);
  if (last !== 0x0a) parts.push(Buffer.from(last === 0x0d ? '\n' : '\r\n'));
  return Buffer.concat(parts);
}

function write(node: MimeTree, parts: Buffer[]): boolean {
  parts.push(Buffer.from(`${node.buildHeaders()}\r\n\r\n`));
  const content = node.content as string | Buffer | undefined;
  if (content) {
    // buildHeaders() has just set this field to getTransferEncoding()'s answer, which for a text
    // that is not plain ASCII counts its characters once more (stream() asks for it twice).
    const encoding = String(node.getHeader('Content-Transfer-Encoding') ?? '');
    const bytes = typeof content === 'string' ? Buffer.from(content) : content;
    if (encoding === 'base64' || encoding === 'quoted-printable') {
      // Outside text/*, a lone CR or LF is data and QP encodes it (as stream() sets up the encoder).
      const encoder =
        encoding === 'base64' ? new (Encoders().base64)({}) : new (Encoders().qp)({ binary: !/^text\//i.test(node.contentType ?? '') });
      if (!encode(encoder, bytes, parts)) return false;
    } else if (bytes.length) {
      parts.push(bytes);
    }
  }
  if (node.multipart) {
    for (let i = 0; i < node.childNodes.length; i++) {
      parts.push(Buffer.from(`${i ? '\r\n' : ''}--${node.boundary}\r\n`));
      if (!write(node.childNodes[i]!, parts)) return false;
    }
    parts.push(Buffer.from(`\r\n--${node.boundary}--\r\n`));
  }
  return true;
}

/** All of `bytes` through a Transform's own `_transform` and `_flush`, its pushes collected; false if either did not finish at once. */
function encode(encoder: Transform, bytes: Buffer, parts: Buffer[]): boolean {
  encoder.push = (chunk: Buffer | string | null, enc?: BufferEncoding) => {
    if (chunk?.length) parts.push(typeof chunk === 'string' ? Buffer.from(chunk, enc) : chunk);
    return true;
  };
  let finished = 0;
  const done = (err?: Error | null) => {
    if (err) throw err;
    finished++;
  };
  // 'buffer' is what a stream passes for a Buffer chunk (not a BufferEncoding in the typings).
  encoder._transform(bytes, 'buffer' as BufferEncoding, done);
  if (finished === 1) encoder._flush!(done);
  return finished === 2;
}
