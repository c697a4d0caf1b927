import { createHash } from 'node:crypto';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { domainToUnicode } from 'node:url';
import { MailParser, type AddressObject, type AttachmentStream, type HeaderLines, type MessageText } from 'mailparser';
import { cleanFilename } from './attachment-name.js';
import { installDecodingFixes, installOrdinaryGuard } from './mailparser-hooks.js';
import { NotOrdinaryError, type OrdinaryLimits } from './ordinary.js';
import { oneLine } from './one-line.js';
import { decodeRawHeader } from './raw-header.js';
import { emptyParsed } from './empty-parsed.js';
import type { Address, AttachmentMeta, Header, ParsedMessage } from './types.js';

export { emptyParsed };

/** Stores one attachment's decoded bytes; resolves once they are durable. */
export type PutAttachment = (index: number, content: Readable) => Promise<void>;

export interface ParseOutcome {
  parsed: ParsedMessage;
  /** Set when the MIME could not be parsed in full; the raw message is kept regardless. */
  error: string | null;
}

// A header value longer than this is cut in the stored/sent copy (the raw .eml keeps it whole).
export const MAX_HEADER_VALUE = 16 * 1024;
const MAX_HEADERS = 1000;
const MAX_ADDRESSES = 1000;
/**
 * Attachments stored as objects per message. Each is a file with its own fsync (or an S3
 * PUT) before the 250 and a link in the webhook: 990 one-byte parts cost seconds of disk. The
 * rest are read and dropped; they stay in the raw message (raw_url) and parse_error says so.
 */
export const MAX_ATTACHMENTS = 100;

// Linkifying text into HTML is the slow, regex-heavy part of mailparser and nobody asked for it.
// Exported for the benchmark baseline, which parses with exactly these options.
// HTML → text costs ~0.2 s of CPU per MB: bodies over 2 MiB keep their HTML but get no derived text.
export const PARSER_OPTIONS = {
  skipTextToHtml: true,
  skipImageLinks: true,
  skipTextLinks: true,
  checksumAlgo: false,
  maxHtmlLengthToParse: 2 * 1024 * 1024,
} as const;


function addresses(value: AddressObject | AddressObject[] | undefined): Address[] {
  const out: Address[] = [];
  const walk = (list: { address?: string; name?: string; group?: unknown[] }[]) => {
    for (const a of list) {
      if (out.length >= MAX_ADDRESSES) return;
      if (Array.isArray(a.group)) walk(a.group as typeof list);
      else out.push({ address: oneLine(a.address ?? ''), name: oneLine(a.name ?? '') });
    }
  };
  for (const obj of ([] as AddressObject[]).concat(value ?? [])) walk(obj.value);
  return out;
}

/**
 * RFC 2047 §5 forbids encoded words inside an address, but mailparser decodes them:
 * `=?utf-8?Q?ceo?=@bank.example` would become "ceo@bank.example", an address the raw header
 * never names (and DMARC never checked). Only addresses spelled out in the header are kept.
 */
function verbatimOnly(list: Address[], rawHeader: string): Address[] {
  const hay = rawHeader.toLowerCase();
  return list.map((a) => {
    const address = a.address.toLowerCase();
    if (!address) return a;
    const at = address.lastIndexOf('@');
    const unicode = at > 0 ? address.slice(0, at + 1) + domainToUnicode(address.slice(at + 1)) : address;
    return hay.includes(address) || hay.includes(unicode) ? a : { ...a, address: '' };
  });
}

function headerList(lines: HeaderLines): Header[] {
  return lines.slice(0, MAX_HEADERS).map(({ line: binary }) => {
    // mailsplit hands over the field's bytes as a binary string; encoded words stay as written.
    const line = decodeRawHeader(binary);
    const colon = line.indexOf(':');
    const name = colon > 0 ? line.slice(0, colon).trim() : line.trim();
    // Unfold (RFC 5322 §2.2.3) so each value is one line.
    // A bare CR or LF left inside a value (not a fold) must not reach the receiver as a line break.
    const value = colon > 0 ? line.slice(colon + 1).replace(/\r?\n[ \t]/g, ' ').replace(/[\r\n]+/g, ' ').trim() : '';
    return { name, value: value.slice(0, MAX_HEADER_VALUE) };
  });
}

/**
 * Parses a raw message with mailparser's streaming MailParser. Attachments are handed to
 * `putAttachment` as streams while parsing, so a 40 MB attachment is never held in memory.
 * Never throws for bad MIME: a parser failure comes back as `error` with what was read so far.
 * With `ordinaryOnly`, a message past those limits (src/parse/ordinary.ts) stops the parse and
 * throws NotOrdinaryError once every attachment store it started has settled (the caller
 * discards what they wrote); `raw` is left unread where it stopped.
 */
export async function parseMessage(raw: Readable, putAttachment: PutAttachment, ordinaryOnly?: OrdinaryLimits): Promise<ParseOutcome> {
  const parsed = emptyParsed();
  const parser = new MailParser(PARSER_OPTIONS);
  installDecodingFixes(parser);
  const guard: { stopped: NotOrdinaryError | null } = { stopped: null };
  if (ordinaryOnly) {
    installOrdinaryGuard(parser, ordinaryOnly, (reason) => {
      // Whatever else the stopped parser emits goes nowhere.
      parser.on('error', () => undefined);
      return (guard.stopped = new NotOrdinaryError(reason));
    });
  }
  const pending: Promise<void>[] = [];
  const puts: Promise<void>[] = [];
  const open = new Set<AttachmentStream['content']>();
  let attachmentError: Error | null = null;
  let skipped = 0;

  parser.on('headers', () => {
    parsed.from = addresses(parser.from)[0] ?? parsed.from;
    parsed.to = addresses(parser.to);
    parsed.cc = addresses(parser.cc);
    parsed.replyTo = addresses(parser.replyTo);
    parsed.subject = oneLine(parser.subject ?? '').slice(0, MAX_HEADER_VALUE);
    const date = parser.date?.getTime();
    parsed.date = date !== undefined && Number.isFinite(date) ? date : 0;
    parsed.messageId = oneLine(parser.messageId ?? '');
    parsed.inReplyTo = oneLine(parser.inReplyTo ?? '');
    parsed.references = ([] as string[]).concat(parser.references ?? []).slice(0, MAX_ADDRESSES).map(oneLine);
  });
  parser.on('headerLines', (lines: HeaderLines) => {
    parsed.headers = headerList(lines);
    const raw = (key: string) =>
      lines
        .filter((l) => l.key === key)
        .map((l) => decodeRawHeader(l.line) + '\n' + l.line)
        .join('\n');
    parsed.from = verbatimOnly([parsed.from], raw('from'))[0]!;
    parsed.to = verbatimOnly(parsed.to, raw('to'));
    parsed.cc = verbatimOnly(parsed.cc, raw('cc'));
    parsed.replyTo = verbatimOnly(parsed.replyTo, raw('reply-to'));
  });
  parser.on('data', (data: AttachmentStream | MessageText) => {
    if (data.type === 'text') {
      parsed.text = data.text ?? '';
      parsed.html = typeof data.html === 'string' ? data.html : '';
      return;
    }
    if (parsed.attachments.length >= MAX_ATTACHMENTS) {
      skipped++;
      data.content.once('end', () => data.release?.());
      data.content.resume();
      return;
    }
    const index = parsed.attachments.length;
    const meta: AttachmentMeta = {
      index,
      filename: cleanFilename(data.filename ?? ''),
      contentType: oneLine(data.contentType || 'application/octet-stream').toLowerCase(),
      size: 0,
      sha256: '',
      contentId: oneLine(data.cid ?? ''),
    };
    parsed.attachments.push(meta);
    const hash = createHash('sha256');
    const counted = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        meta.size += chunk.length;
        done(null, chunk);
      },
    });
    const stored = putAttachment(index, counted);
    puts.push(stored.catch(() => undefined));
    open.add(data.content);
    pending.push(
      Promise.all([pipeline(data.content, counted), stored])
        .then(() => {
          meta.sha256 = hash.digest('hex');
        })
        .catch((err: Error) => {
          attachmentError ??= err;
          counted.destroy(err);
        })
        .finally(() => {
          open.delete(data.content);
          data.release?.();
        }),
    );
  });

  let error: string | null = null;
  try {
    await new Promise<void>((resolve, reject) => {
      parser.once('end', resolve);
      parser.once('error', reject);
      raw.once('error', reject);
      raw.pipe(parser);
    });
  } catch (err) {
    error = (err as Error).message || String(err);
    raw.unpipe(parser);
    // An attachment cut short by the failure must not be stored as if it were whole.
    for (const content of open) content.destroy(new Error(`message parse failed: ${error}`));
  }
  await Promise.all(pending);
  if (guard.stopped) {
    // No store may still be writing when the caller discards what they wrote.
    await Promise.all(puts);
    throw guard.stopped;
  }
  const capped = skipped > 0 ? `more than ${MAX_ATTACHMENTS} attachments: ${skipped} more are only in the raw message` : null;
  if (error) {
    // Only whole attachments are kept; the raw message still has every byte.
    parsed.attachments = parsed.attachments.filter((a) => a.sha256 !== '');
    return { parsed, error: capped ? `${error}; ${capped}` : error };
  }
  // A storage failure is not a parse problem: the caller answers 451 and the sender retries.
  if (attachmentError) throw attachmentError;
  return { parsed, error: capped };
}
