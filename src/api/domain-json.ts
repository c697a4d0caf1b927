import { z } from '@hono/zod-openapi';
import { PAYLOAD_MODES } from '../deliver/payload.js';
import type { Config } from '../config.js';
import type { Domain } from '../db/domains.js';

export const RecordSchema = z
  .object({
    type: z.enum(['MX', 'TXT']),
    name: z.string(),
    value: z.string(),
    priority: z.number().int().optional(),
  })
  .openapi('DnsRecord');

export const RecordCheckSchema = z
  .object({
    type: z.enum(['MX', 'TXT']),
    name: z.string(),
    expected: z.string(),
    found: z.array(z.string()),
    ok: z.boolean(),
    error: z.string().nullable(),
  })
  .openapi('DnsRecordCheck');
export type RecordCheck = z.infer<typeof RecordCheckSchema>;

export const LastCheckSchema = z.object({
  checked_at: z.number().int(),
  ok: z.boolean(),
  records: z.array(RecordCheckSchema),
  forced: z.boolean().optional().openapi({ description: 'Marked verified by `mailhook domain verify --force`, without DNS: no records were checked' }),
});
export type LastCheck = z.infer<typeof LastCheckSchema>;

export const WebhookSchema = z
  .object({
    url: z.string(),
    secret: z.string().openapi({ example: 'whsec_…' }),
    payload: z.enum(PAYLOAD_MODES).openapi({ description: 'json, json+attachments or raw (README "Payload modes")' }),
  })
  .openapi('Webhook');

export const DomainSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    status: z.enum(['pending', 'verified']),
    records: z.array(RecordSchema),
    webhook: WebhookSchema.nullable(),
    verified_at: z.number().int().nullable(),
    last_check: LastCheckSchema.nullable(),
    created_at: z.number().int(),
  })
  .openapi('Domain');

export const txtName = (name: string) => `_mailhook.${name}`;
export const txtValue = (token: string) => `mailhook-verification=${token}`;

/** What the owner publishes: MX to us, and a TXT record proving they control the zone. */
export function dnsRecords(config: Pick<Config, 'mxHost'>, d: Domain) {
  return [
    { type: 'MX' as const, name: d.name, value: config.mxHost, priority: 10 },
    { type: 'TXT' as const, name: txtName(d.name), value: txtValue(d.verificationToken) },
  ];
}

export function domainJson(config: Pick<Config, 'mxHost'>, d: Domain): z.infer<typeof DomainSchema> {
  return {
    id: d.id,
    name: d.name,
    status: d.status,
    records: dnsRecords(config, d),
    webhook: d.webhookUrl && d.webhookSecret ? { url: d.webhookUrl, secret: d.webhookSecret, payload: d.webhookPayload } : null,
    verified_at: d.verifiedAt,
    last_check: lastCheckJson(d),
    created_at: d.createdAt,
  };
}

/**
 * The stored check as the API promises it. last_check is JSON written by several versions and
 * by the CLI (`--force` once stored just `{ forced: true }`): every stored shape is answered in
 * the schema's shape, or as null, so no reader meets a check without `records`.
 */
export function lastCheckJson(d: Pick<Domain, 'lastCheck' | 'verifiedAt' | 'createdAt'>): LastCheck | null {
  const parsed = LastCheckSchema.safeParse(d.lastCheck);
  if (parsed.success) return parsed.data;
  const stored = d.lastCheck as { forced?: unknown } | null;
  if (stored && typeof stored === 'object' && stored.forced === true) {
    return { checked_at: d.verifiedAt ?? d.createdAt, ok: true, records: [], forced: true };
  }
  return null;
}
