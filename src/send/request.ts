import { z } from '@hono/zod-openapi';
import { HttpError } from '../errors.js';
import type { Addr, Attachment, Composition } from './compose.js';

/** DESIGN §9: at most 50 recipients (to + cc + bcc) per send. */
export const MAX_RECIPIENTS = 50;

const addressList = z.union([z.string(), z.array(z.string())]);

export const SendBody = z
  .object({
    from: z.string().max(998).openapi({ example: 'Support <support@example.com>' }),
    to: addressList.openapi({ example: ['customer@example.org'] }),
    cc: addressList.optional(),
    bcc: addressList.optional(),
    reply_to: addressList.optional(),
    subject: z.string().max(998),
    text: z.string().optional(),
    html: z.string().optional(),
    headers: z.record(z.string(), z.string()).optional(),
    attachments: z
      .array(z.object({ filename: z.string().min(1).max(255), content: z.string(), content_type: z.string().max(255).optional(), content_id: z.string().max(255).optional() }))
      .optional(),
    reply_to_message_id: z.string().max(64).optional(),
    idempotency_key: z.string().min(1).max(255).optional(),
  })
  .openapi('SendRequest');
export type SendBody = z.infer<typeof SendBody>;

/** Deliberately plain (RFC 5321 Mailbox without quoted local parts or address literals). */
const ADDRESS = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$/;

export interface Mailbox {
  name: string;
  address: string;
}

/** `a@b.c` or `Name <a@b.c>`; anything else (several addresses, groups, CR/LF) is a 400 naming `field`. */
export function parseMailbox(input: string, field: string): Mailbox {
  const s = input.trim();
  const m = /^(?:"?([^"<>\r\n]*?)"?\s*)?<([^<>\s]+)>$/.exec(s);
  const address = (m ? m[2]! : s).trim();
  if (/[\r\n]/.test(s) || address.length > 254 || !ADDRESS.test(address)) throw new HttpError(400, `${field}: not an email address: "${s.slice(0, 100)}"`);
  return { name: m?.[1]?.trim() ?? '', address };
}

const asList = (v: string | string[] | undefined) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/**
 * Headers the composer or the queue sets: a caller must not forge the envelope's story, the
 * signature, or the structure of the MIME tree.
 */
const RESERVED = new Set([
  'from', 'to', 'cc', 'bcc', 'reply-to', 'subject', 'date', 'message-id', 'in-reply-to', 'references', 'sender',
  'dkim-signature', 'content-type', 'content-transfer-encoding', 'mime-version', 'return-path', 'received',
]);
const HEADER_NAME = /^[!-9;-~]+$/; // RFC 5322 §2.2: printable ASCII except ':'
const TOKEN = "[!#$%&'*+.^_`|~0-9A-Za-z-]+"; // RFC 2045 §5.1
/** `type/subtype` with parameters, one line: what nodemailer writes as it is into the part's header. */
const CONTENT_TYPE = new RegExp(`^${TOKEN}/${TOKEN}(?:\\s*;\\s*${TOKEN}=(?:${TOKEN}|"[^"\\\\\\r\\n]*"))*$`);
/** A Content-ID (RFC 2392), with or without its angle brackets. */
// eslint-disable-next-line no-control-regex -- a Content-ID must not carry control characters
const CONTENT_ID = /^<?[^\s<>"\x00-\x1f\x7f]+>?$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export interface ValidSend {
  from: Mailbox;
  composition: Composition;
  /** Envelope recipients, lower-case, each once. */
  recipients: string[];
}

/** The checks zod's shapes cannot state; each failure is a 400 naming the field. */
export function validateSend(b: SendBody, maxMessageBytes: number): ValidSend {
  const from = parseMailbox(b.from, 'from');
  const lists = { to: asList(b.to), cc: asList(b.cc), bcc: asList(b.bcc), reply_to: asList(b.reply_to) };
  const parsed = Object.fromEntries(
    Object.entries(lists).map(([field, values]) => [field, values.map((v, i) => parseMailbox(v, `${field}[${i}]`))]),
  ) as Record<keyof typeof lists, Mailbox[]>;
  const all = [...parsed.to, ...parsed.cc, ...parsed.bcc];
  if (all.length === 0) throw new HttpError(400, 'to: at least one recipient is required');
  const recipients = [...new Set(all.map((m) => m.address.toLowerCase()))];
  if (recipients.length > MAX_RECIPIENTS) throw new HttpError(400, `to: at most ${MAX_RECIPIENTS} recipients (to + cc + bcc), got ${recipients.length}`);
  if (!b.text && !b.html) throw new HttpError(400, 'text: a text or html body is required');
  if (/[\r\n]/.test(b.subject)) throw new HttpError(400, 'subject: must be one line');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(b.headers ?? {})) {
    if (!HEADER_NAME.test(name)) throw new HttpError(400, `headers.${name}: not a valid header name`);
    if (RESERVED.has(name.toLowerCase())) throw new HttpError(400, `headers.${name}: set by Mailhook, use the body field instead`);
    // A CR or LF would start a header of the caller's choosing (header injection).
    if (/[\r\n]/.test(value)) throw new HttpError(400, `headers.${name}: value must be one line`);
    headers[name] = value;
  }
  let bytes = Buffer.byteLength(b.text ?? '') + Buffer.byteLength(b.html ?? '');
  const attachments: Attachment[] = (b.attachments ?? []).map((a, i) => {
    const clean = a.content.replace(/\s+/g, '');
    if (!BASE64.test(clean)) throw new HttpError(400, `attachments[${i}].content: not base64`);
    if (/[\r\n"]/.test(a.filename)) throw new HttpError(400, `attachments[${i}].filename: must be one line without quotes`);
    // nodemailer drops a CR or LF in these (no second header), but keeps the rest of the line in
    // the header, and a multipart type makes the attachment a MIME container of the caller's.
    if (a.content_type !== undefined && (!CONTENT_TYPE.test(a.content_type) || /^multipart\//i.test(a.content_type))) {
      throw new HttpError(400, `attachments[${i}].content_type: not a media type (type/subtype, not multipart/*)`);
    }
    if (a.content_id !== undefined && !CONTENT_ID.test(a.content_id)) throw new HttpError(400, `attachments[${i}].content_id: not a Content-ID`);
    const content = Buffer.from(clean, 'base64');
    bytes += content.length;
    return { filename: a.filename, content, contentType: a.content_type, contentId: a.content_id };
  });
  if (bytes > maxMessageBytes) throw new HttpError(400, `message: ${bytes} bytes of content is more than MAX_MESSAGE_BYTES (${maxMessageBytes})`);
  const show = (m: Mailbox): Addr => (m.name ? { name: m.name, address: m.address } : m.address);
  return {
    from,
    recipients,
    composition: {
      from: show(from),
      to: parsed.to.map(show),
      cc: parsed.cc.map(show),
      bcc: parsed.bcc.map(show),
      replyTo: parsed.reply_to.map(show),
      subject: b.subject,
      text: b.text,
      html: b.html,
      headers,
      attachments,
    },
  };
}
