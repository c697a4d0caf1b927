import { z } from '@hono/zod-openapi';
import { PAYLOAD_MODES } from '../deliver/payload.js';

/**
 * The `email.received` webhook body (src/deliver/payload.ts), for the OpenAPI document's
 * components: receivers generate their types from it. Not used to validate anything.
 */
const AddressSchema = z.object({ address: z.string(), name: z.string() });

export const EmailReceivedSchema = z
  .object({
    type: z.literal('email.received'),
    timestamp: z.number().int().openapi({ description: 'When the delivery was queued (epoch ms): the same on every retry' }),
    data: z.object({
      id: z.string(),
      domain: z.string(),
      route_id: z.string().nullable().openapi({ description: 'Null for the domain catch-all' }),
      envelope: z.object({ mail_from: z.string(), rcpt_to: z.array(z.string()), helo: z.string(), remote_ip: z.string(), tls: z.boolean() }),
      from: AddressSchema,
      to: z.array(AddressSchema),
      cc: z.array(AddressSchema),
      reply_to: z.array(AddressSchema),
      subject: z.string(),
      date: z.number().int(),
      message_id: z.string(),
      in_reply_to: z.string(),
      references: z.array(z.string()),
      headers: z.array(z.object({ name: z.string(), value: z.string() })),
      text: z.string(),
      html: z.string(),
      reply: z
        .object({
          text: z.string().openapi({ description: 'The new text: quoted earlier messages and signature removed' }),
          signature: z.string(),
          quoted: z.string(),
        })
        .nullable()
        .openapi({ description: 'Null for messages stored before reply extraction existed' }),
      spam: z
        .union([
          z.object({
            status: z.literal('checked'),
            score: z.number(),
            required: z.number(),
            action: z.string().openapi({ description: "rspamd's action: no action, greylist, add header, rewrite subject, soft reject, reject" }),
            symbols: z.array(z.object({ name: z.string(), score: z.number() })),
          }),
          z.object({ status: z.literal('unchecked') }),
        ])
        .optional()
        .openapi({ description: 'Only with SPAM_FILTER=rspamd' }),
      auth: z.object({ spf: z.string(), dkim: z.string(), dmarc: z.string() }),
      attachments: z.array(
        z.object({
          index: z.number().int(),
          filename: z.string(),
          content_type: z.string(),
          size: z.number().int(),
          sha256: z.string(),
          content_id: z.string(),
          url: z.string(),
          content: z.string().optional().openapi({ description: 'Base64 bytes: json+attachments payloads, within INLINE_ATTACHMENT_BYTES' }),
        }),
      ),
      raw_url: z.string(),
      size: z.number().int(),
      received_at: z.number().int(),
    }),
  })
  .openapi('EmailReceivedEvent', {
    description: `Body of a webhook in the json and json+attachments payload modes (${PAYLOAD_MODES.join(', ')}); raw posts the message itself`,
  });
