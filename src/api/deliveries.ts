import { createRoute, z } from '@hono/zod-openapi';
import type { Delivery, DeliveryAttempt } from '../db/deliveries.js';
import { retryNow } from '../deliver/worker.js';
import type { Deps } from '../deps.js';
import { REFUSED_ADDRESS } from '../net/url-guard.js';
import { notFound, requireScope, type Auth } from './guard.js';
import { bearer, errors, IdParam, json, page, PageQuery, paginate, router } from './openapi.js';

const AttemptSchema = z
  .object({
    started_at: z.number().int(),
    finished_at: z.number().int().nullable().openapi({ description: 'null: in flight, or interrupted by a restart' }),
    status_code: z.number().int().nullable(),
    latency_ms: z.number().int().nullable(),
    response_body: z.string().nullable().openapi({ description: 'First 1 KiB' }),
    error: z.string().nullable(),
  })
  .openapi('DeliveryAttempt');

export const DeliverySchema = z
  .object({
    id: z.string().openapi({ description: 'Also the webhook-id header of every attempt' }),
    message_id: z.string(),
    route_id: z.string().nullable().openapi({ description: 'null for the domain catch-all webhook' }),
    url: z.string(),
    status: z.enum(['pending', 'delivered', 'failed']),
    attempt_count: z.number().int(),
    next_attempt_at: z.number().int().nullable(),
    last_status: z.number().int().nullable(),
    last_error: z.string().nullable(),
    created_at: z.number().int(),
    updated_at: z.number().int(),
    attempts: z.array(AttemptSchema).optional().openapi({ description: 'Oldest first; in single-delivery views' }),
  })
  .openapi('Delivery');

// Attempts recorded before refusals were worded for users said what a name resolved to.
const LEGACY_REFUSAL = /resolves to \S+, an? .+ address: refused$|^getaddrinfo E[A-Z]+\b|: no address$/;
const userError = (e: string | null) => (e !== null && LEGACY_REFUSAL.test(e) ? REFUSED_ADDRESS : e);

const attemptJson = (a: DeliveryAttempt) => ({
  started_at: a.startedAt,
  finished_at: a.finishedAt,
  status_code: a.statusCode,
  latency_ms: a.latencyMs,
  response_body: a.responseBody,
  error: userError(a.error),
});

/** The signing secret stays out: it is the route's or domain's, shown there. */
export function deliveryJson(d: Delivery, attempts?: DeliveryAttempt[]): z.infer<typeof DeliverySchema> {
  return {
    id: d.id,
    message_id: d.messageId,
    route_id: d.routeId,
    url: d.url,
    status: d.status,
    attempt_count: d.attempts,
    next_attempt_at: d.nextAttemptAt,
    last_status: d.lastStatus,
    last_error: userError(d.lastError),
    created_at: d.createdAt,
    updated_at: d.updatedAt,
    ...(attempts ? { attempts: attempts.map(attemptJson) } : {}),
  };
}

const tags = ['deliveries'];
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('deliveries:read')] as const,
  request: {
    query: PageQuery.extend({
      status: z.enum(['pending', 'delivered', 'failed']).optional(),
      message_id: z.string().max(64).optional(),
      route_id: z.string().max(64).optional(),
    }),
  },
  responses: { 200: json(page(DeliverySchema), 'Newest first'), ...errors(400, 401, 403) },
});
const get = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('deliveries:read')] as const,
  request: { params: IdParam },
  responses: { 200: json(DeliverySchema, 'With its attempt log'), ...errors(401, 403, 404) },
});
const retry = createRoute({
  method: 'post',
  path: '/{id}/retry',
  tags,
  security: bearer,
  middleware: [requireScope('deliveries:write')] as const,
  request: { params: IdParam },
  responses: { 202: json(DeliverySchema, 'A new attempt is due now'), ...errors(401, 403, 404) },
});

/**
 * A delivery of this caller: owned, and for a key restricted to a domain, under that domain
 * (its route's, or for a catch-all one a domain its message was addressed to).
 */
async function ownDelivery(deps: Deps, auth: Auth, id: string): Promise<Delivery> {
  const d = auth.domainId === null ? await deps.repos.deliveries.get(auth.user.id, id) : await deps.repos.domainDeliveries.get(auth.user.id, auth.domainId, id);
  if (!d) throw notFound('delivery');
  return d;
}

/** GET /api/deliveries, GET /api/deliveries/:id, POST /api/deliveries/:id/retry. */
export function deliveryRoutes(deps: Deps, kickDeliveries: () => void) {
  const r = router();

  r.openapi(list, async (c) => {
    const auth = c.get('auth');
    const q = c.req.valid('query');
    const filter = { userId: auth.user.id, status: q.status, messageId: q.message_id, routeId: q.route_id, before: q.before, limit: q.limit + 1 };
    const rows = auth.domainId
      ? await deps.repos.domainDeliveries.list({ ...filter, domainId: auth.domainId })
      : await deps.repos.deliveries.list(filter);
    return c.json(paginate(rows, q.limit, (d) => deliveryJson(d)), 200);
  });

  r.openapi(get, async (c) => {
    const d = await ownDelivery(deps, c.get('auth'), c.req.valid('param').id);
    return c.json(deliveryJson(d, await deps.repos.deliveries.attempts(d.id)), 200);
  });

  r.openapi(retry, async (c) => {
    const auth = c.get('auth');
    const d = await ownDelivery(deps, auth, c.req.valid('param').id);
    const queued = await retryNow(deps, auth.user.id, d.id);
    if (!queued) throw notFound('delivery');
    kickDeliveries();
    return c.json(deliveryJson(queued, await deps.repos.deliveries.attempts(queued.id)), 202);
  });
  return r;
}
