import type { SendSchema } from '../api/sends.js';
import type { z } from '@hono/zod-openapi';
import type { DeliverySchema } from '../api/deliveries.js';
import type { DomainSchema } from '../api/domain-json.js';
import type { MessageFieldsSchema, MessageSummarySchema } from '../api/message-json.js';
import type { RouteSchema } from '../api/route-input.js';
import type { SuppressionSchema } from '../api/suppressions.js';

/** The API's JSON shapes, from its own schemas where it exports them. */
export type DomainJson = z.infer<typeof DomainSchema>;
export type RouteJson = z.infer<typeof RouteSchema>;
export type DeliveryJson = z.infer<typeof DeliverySchema>;
export type MessageSummaryJson = z.infer<typeof MessageSummarySchema>;
export type MessageJson = z.infer<typeof MessageFieldsSchema> & { deliveries: DeliveryJson[]; forwards?: SendJson[] };
export type SendJson = z.infer<typeof SendSchema>;
export type SuppressionJson = z.infer<typeof SuppressionSchema>;

export interface Page<T> {
  data: T[];
  next_cursor: string | null;
}

export interface BlockJson {
  id: string;
  domain_id: string | null;
  pattern: string;
  created_at: number;
}

export interface KeyJson {
  id: string;
  name: string;
  prefix: string;
  scopes: string[];
  domain_id: string | null;
  created_at: number;
  last_used_at: number | null;
}

export interface WebhookTestJson {
  ok: boolean;
  status_code: number | null;
  latency_ms: number;
  body: string;
  error: string | null;
}

export interface DryRunJson {
  domain_id: string;
  results: {
    recipient: string;
    rcpt: { accept: boolean; code: number; message: string };
    fired: { route_id: string; action: string; destination: string | null; reason: string }[];
    trace: { route_id: string; matched: boolean; reason: string }[];
    catch_all: { url: string } | null;
  }[];
}
