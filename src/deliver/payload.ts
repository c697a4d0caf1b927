import type { Config } from '../config.js';
import type { Delivery } from '../db/deliveries.js';
import type { StoredAttachment, StoredMessage } from '../db/messages.js';
import type { Address, Header, SpamVerdict } from '../parse/types.js';
import { signedPath, type LinkTarget } from '../store/signed-links.js';

/** The `email.received` event, field for field as DESIGN §6. */
export interface EmailReceivedEvent {
  type: 'email.received';
  timestamp: number;
  data: {
    id: string;
    domain: string;
    route_id: string | null;
    envelope: { mail_from: string; rcpt_to: string[]; helo: string; remote_ip: string; tls: boolean };
    from: Address;
    to: Address[];
    cc: Address[];
    reply_to: Address[];
    subject: string;
    date: number;
    message_id: string;
    in_reply_to: string;
    references: string[];
    headers: Header[];
    text: string;
    html: string;
    /** Null for a message stored before reply extraction existed. */
    reply: { text: string; signature: string; quoted: string } | null;
    /** Only when a spam filter is configured (SPAM_FILTER). */
    spam?: SpamJson;
    auth: { spf: string; dkim: string; dmarc: string };
    attachments: {
      index: number;
      filename: string;
      content_type: string;
      size: number;
      sha256: string;
      content_id: string;
      url: string;
    }[];
    raw_url: string;
    size: number;
    received_at: number;
  };
}

export type SpamJson =
  | { status: 'checked'; score: number; required: number; action: string; symbols: { name: string; score: number }[] }
  | { status: 'unchecked' };

/** Sent by "send test event" so a user can check their endpoint and signature code. */
export interface WebhookTestEvent {
  type: 'webhook.test';
  timestamp: number;
  data: { domain: string };
}

export interface EmailReceivedInput {
  config: Pick<Config, 'publicUrl' | 'secret'>;
  message: StoredMessage;
  attachments: StoredAttachment[];
  delivery: Pick<Delivery, 'routeId' | 'createdAt'>;
  domain: string;
}

/**
 * What a webhook posts (DESIGN §6): the JSON event; the JSON event with small attachments
 * inline as base64; or the message itself as message/rfc822 with metadata in x-mailhook-* headers.
 */
export const PAYLOAD_MODES = ['json', 'json+attachments', 'raw'] as const;
export type PayloadMode = (typeof PAYLOAD_MODES)[number];

const addr = (a: Address): Address => ({ address: a.address, name: a.name });

/**
 * Builds the event from the stored rows. Everything in it is derived from data that does not
 * change between attempts (`timestamp` is when the delivery was queued; links expire relative
 * to received_at), so every retry of a delivery sends the same body under the same webhook-id.
 * `route_id` is null for the domain's catch-all webhook.
 */
export function buildEmailReceived(input: EmailReceivedInput): EmailReceivedEvent {
  const { config, message: m, attachments, delivery, domain } = input;
  const p = m.parsed;
  const auth: Partial<Record<'spf' | 'dkim' | 'dmarc', unknown>> = m.auth;
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  const link = (idx: LinkTarget) => config.publicUrl + signedPath(config.secret, m.id, idx, m.receivedAt);
  return {
    type: 'email.received',
    timestamp: delivery.createdAt,
    data: {
      id: m.id,
      domain,
      route_id: delivery.routeId,
      envelope: {
        mail_from: m.envelope.mailFrom,
        rcpt_to: [...m.envelope.rcptTo],
        helo: m.envelope.helo,
        remote_ip: m.envelope.remoteIp,
        tls: m.envelope.tls,
      },
      from: addr(p.from),
      to: p.to.map(addr),
      cc: p.cc.map(addr),
      reply_to: p.replyTo.map(addr),
      subject: p.subject,
      date: p.date,
      message_id: p.messageId,
      in_reply_to: p.inReplyTo,
      references: [...p.references],
      headers: p.headers.map((h) => ({ name: h.name, value: h.value })),
      text: p.text,
      html: p.html,
      reply: p.reply ? { text: p.reply.text, signature: p.reply.signature, quoted: p.reply.quoted } : null,
      ...(m.spam ? { spam: spamJson(m.spam) } : {}),
      auth: { spf: str(auth.spf), dkim: str(auth.dkim), dmarc: str(auth.dmarc) },
      attachments: attachments.map((a) => ({
        index: a.index,
        filename: a.filename,
        content_type: a.contentType,
        size: a.size,
        sha256: a.sha256,
        content_id: a.contentId,
        url: link(a.index),
      })),
      raw_url: link('raw'),
      size: m.size,
      received_at: m.receivedAt,
    },
  };
}

function spamJson(v: SpamVerdict): SpamJson {
  if (v.status !== 'checked') return { status: 'unchecked' };
  return { status: 'checked', score: v.score, required: v.required, action: v.action, symbols: v.symbols.map((s) => ({ name: s.name, score: s.score })) };
}

export function buildTestEvent(domain: string, now: number): WebhookTestEvent {
  return { type: 'webhook.test', timestamp: now, data: { domain } };
}
