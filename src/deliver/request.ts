import type { Readable } from 'node:stream';
import type { Delivery } from '../db/deliveries.js';
import { writtenTextJson, type StoredAttachment, type StoredMessage } from '../db/messages.js';
import type { Deps } from '../deps.js';
import { jsonBody } from './json-body.js';
import { buildEmailReceived, type EmailReceivedEvent } from './payload.js';

/** The bytes one attempt posts and the headers that describe them (signatures are added by post.ts). */
export interface WebhookRequest {
  body: Buffer;
  contentType: string;
  headers: Record<string, string>;
}

/** Receivers commonly cap all request headers at 8-16 KiB (Node: 16 KiB): no metadata header may eat that. */
const MAX_META_HEADER = 4096;

/**
 * The request of one attempt of `d`, in its payload mode. Built from stored rows and blobs only,
 * so every attempt of a delivery posts the same bytes under the same webhook-id.
 */
export async function buildWebhookRequest(
  deps: Pick<Deps, 'config' | 'blobs'>,
  d: Pick<Delivery, 'routeId' | 'createdAt' | 'payload'>,
  message: StoredMessage,
  attachments: StoredAttachment[],
  domain: string,
): Promise<WebhookRequest> {
  const event = buildEmailReceived({ config: deps.config, message, attachments, delivery: d, domain });
  if (d.payload === 'raw') {
    return { body: await readAll(await deps.blobs.get(message.rawKey)), contentType: 'message/rfc822', headers: metadataHeaders(event) };
  }
  if (d.payload === 'json+attachments' && message.purgedAt === null) {
    // In index order while the total fits: a receiver gets the first files whole rather than none.
    let left = deps.config.inlineAttachmentBytes;
    for (const [i, a] of attachments.entries()) {
      if (a.size > left) continue;
      left -= a.size;
      const content = (await readAll(await deps.blobs.get(a.blobKey))).toString('base64');
      (event.data.attachments[i] as EmailReceivedEvent['data']['attachments'][number] & { content?: string }).content = content;
    }
  }
  // Buffer.from(JSON.stringify(event)) byte for byte, with less garbage (json-body.ts); the text's
  // JSON from its row when this process wrote it (a first attempt): escaped once per message.
  const textJson = writtenTextJson(message.parsed);
  const known = textJson === undefined ? undefined : { s: message.parsed.text, json: textJson };
  return { body: jsonBody(event, known), contentType: 'application/json', headers: {} };
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * HTTP header values must be one line of visible ASCII: anything else (UTF-8 addresses, a
 * stray CR/LF) is percent-encoded as UTF-8, and a value is cut at MAX_META_HEADER characters.
 */
export function headerValue(s: string): string {
  return s.replace(/[^\x20-\x7e]|%/gu, (c) => encodeURIComponent(c)).slice(0, MAX_META_HEADER);
}

/** The event's metadata for a raw POST, where the body is the message itself. */
export function metadataHeaders(e: EmailReceivedEvent): Record<string, string> {
  const d = e.data;
  const h: Record<string, string> = {
    'x-mailhook-event': e.type,
    'x-mailhook-timestamp': String(e.timestamp),
    'x-mailhook-message-id': d.id,
    'x-mailhook-domain': d.domain,
    'x-mailhook-route-id': d.route_id ?? '',
    'x-mailhook-mail-from': d.envelope.mail_from,
    'x-mailhook-rcpt-to': d.envelope.rcpt_to.join(', '),
    'x-mailhook-helo': d.envelope.helo,
    'x-mailhook-remote-ip': d.envelope.remote_ip,
    'x-mailhook-tls': String(d.envelope.tls),
    'x-mailhook-auth': `spf=${d.auth.spf || 'none'}; dkim=${d.auth.dkim || 'none'}; dmarc=${d.auth.dmarc || 'none'}`,
    ...(d.spam
      ? {
          'x-mailhook-spam':
            d.spam.status === 'checked'
              ? `status=checked; score=${d.spam.score}; required=${d.spam.required}; action=${d.spam.action}; symbols=${d.spam.symbols.map((s) => s.name).join(',')}`
              : 'status=unchecked',
        }
      : {}),
    'x-mailhook-size': String(d.size),
    'x-mailhook-received-at': String(d.received_at),
    'x-mailhook-raw-url': d.raw_url,
  };
  for (const k of Object.keys(h)) h[k] = headerValue(h[k]!);
  return h;
}
