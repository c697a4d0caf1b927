import type { Readable } from 'node:stream';
import { Readable as ReadableStream } from 'node:stream';
import { parseMessage, type ParseOutcome } from '../../src/parse/parse-message.js';

/** A raw message from lines and byte buffers: strings are ASCII/latin1 lines, joined by CRLF. */
export function mime(...lines: (string | Buffer)[]): Buffer {
  const parts: Buffer[] = [];
  for (const line of lines) parts.push(typeof line === 'string' ? Buffer.from(line, 'latin1') : line, Buffer.from('\r\n'));
  return Buffer.concat(parts);
}

/** A header line or body line with raw bytes: `bytes('Subject: Fr', 0xf6, 'sche')`. */
export function bytes(...pieces: (string | number)[]): Buffer {
  return Buffer.concat(pieces.map((p) => (typeof p === 'number' ? Buffer.from([p]) : Buffer.from(p, 'latin1'))));
}

export interface Parsed extends ParseOutcome {
  /** Each stored attachment's bytes, by index. */
  contents: Buffer[];
}

/** Parses with the real parser, in chunks of `chunk` bytes (chunk boundaries must not matter). */
export async function parseRaw(raw: Buffer, chunk = raw.length): Promise<Parsed> {
  const contents: Buffer[] = [];
  const pieces: Buffer[] = [];
  for (let i = 0; i < raw.length; i += Math.max(1, chunk)) pieces.push(raw.subarray(i, i + chunk));
  const out = await parseMessage(ReadableStream.from(pieces), async (index: number, content: Readable) => {
    const got: Buffer[] = [];
    for await (const c of content) got.push(c as Buffer);
    contents[index] = Buffer.concat(got);
  });
  return { ...out, contents };
}

/** A one-part message with this Content-Type, transfer encoding and body. */
export function textMessage(contentType: string, body: Buffer | string, encoding = '8bit'): Buffer {
  return mime(
    'From: a@sender.test',
    'To: b@example.com',
    'Subject: t',
    'MIME-Version: 1.0',
    `Content-Type: ${contentType}`,
    `Content-Transfer-Encoding: ${encoding}`,
    '',
    typeof body === 'string' ? Buffer.from(body, 'latin1') : body,
  );
}
