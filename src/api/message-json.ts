import { z } from '@hono/zod-openapi';
import type { Config } from '../config.js';
import type { MessageWithDomains, StoredAttachment } from '../db/messages.js';
import { signedPath, type LinkTarget } from '../store/signed-links.js';

const AddressSchema = z.object({ address: z.string(), name: z.string() });
const EnvelopeSchema = z.object({
  mail_from: z.string(),
  rcpt_to: z.array(z.string()),
  helo: z.string(),
  remote_ip: z.string(),
  tls: z.boolean(),
});

export const MessageSummarySchema = z
  .object({
    id: z.string(),
    domain_id: z.string().openapi({ description: 'The domain of the first recipient' }),
    domain_ids: z.array(z.string()).openapi({
      description: "Every one of the account's domains the message was addressed to, domain_id first: it is listed under each, and a key restricted to any of them can read it",
    }),
    envelope: EnvelopeSchema,
    from: AddressSchema,
    to: z.array(AddressSchema),
    subject: z.string(),
    date: z.number().int().openapi({ description: 'Date header, epoch ms; 0 when missing' }),
    message_id: z.string(),
    size: z.number().int(),
    attachment_count: z.number().int(),
    parse_error: z.string().nullable(),
    received_at: z.number().int(),
  })
  .openapi('MessageSummary');

const AttachmentSchema = z.object({
  index: z.number().int(),
  filename: z.string(),
  content_type: z.string(),
  size: z.number().int(),
  sha256: z.string(),
  content_id: z.string(),
  url: z.string().nullable().openapi({ description: 'Signed link, valid 7 days from receipt; null once removed' }),
});

export const MessageFieldsSchema = MessageSummarySchema.extend({
  cc: z.array(AddressSchema),
  reply_to: z.array(AddressSchema),
  in_reply_to: z.string(),
  references: z.array(z.string()),
  headers: z.array(z.object({ name: z.string(), value: z.string() })),
  text: z.string(),
  html: z.string(),
  auth: z.object({ spf: z.string(), dkim: z.string(), dmarc: z.string(), arc: z.string() }),
  attachments: z.array(AttachmentSchema),
  raw_url: z.string().openapi({ description: 'Signed link to the .eml, valid 7 days from receipt' }),
});

export function messageSummaryJson(m: MessageWithDomains): z.infer<typeof MessageSummarySchema> {
  const p = m.parsed;
  return {
    id: m.id,
    domain_id: m.domainId,
    domain_ids: m.domainIds,
    envelope: {
      mail_from: m.envelope.mailFrom,
      rcpt_to: m.envelope.rcptTo,
      helo: m.envelope.helo,
      remote_ip: m.envelope.remoteIp,
      tls: m.envelope.tls,
    },
    from: p.from,
    to: p.to,
    subject: p.subject,
    date: p.date,
    message_id: p.messageId,
    size: m.size,
    attachment_count: p.attachments.length,
    parse_error: m.parseError,
    received_at: m.receivedAt,
  };
}

/** The whole message, with links signed now (they still expire 7 days after receipt). */
export function messageJson(
  config: Pick<Config, 'publicUrl' | 'secret'>,
  m: MessageWithDomains,
  attachments: StoredAttachment[],
): z.infer<typeof MessageFieldsSchema> {
  const p = m.parsed;
  const link = (idx: LinkTarget) => config.publicUrl + signedPath(config.secret, m.id, idx, m.receivedAt);
  const auth = m.auth as Partial<Record<string, unknown>>;
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    ...messageSummaryJson(m),
    cc: p.cc,
    reply_to: p.replyTo,
    in_reply_to: p.inReplyTo,
    references: p.references,
    headers: p.headers,
    text: p.text,
    html: p.html,
    auth: { spf: str(auth.spf), dkim: str(auth.dkim), dmarc: str(auth.dmarc), arc: str(auth.arc) },
    attachments: attachments.map((a) => ({
      index: a.index,
      filename: a.filename,
      content_type: a.contentType,
      size: a.size,
      sha256: a.sha256,
      content_id: a.contentId,
      url: m.purgedAt === null ? link(a.index) : null,
    })),
    raw_url: link('raw'),
  };
}
