import { createRoute, z } from '@hono/zod-openapi';
import type { Deps } from '../deps.js';
import type { Suppression } from '../db/suppressions.js';
import { HttpError } from '../errors.js';
import { notFound, requireScope } from './guard.js';
import { bearer, errors, json, router } from './openapi.js';

export const SuppressionSchema = z
  .object({ address: z.string(), reason: z.string(), detail: z.string(), send_id: z.string().nullable(), created_at: z.number().int() })
  .openapi('Suppression');

const tags = ['sending'];
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('send')] as const,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      before: z.string().max(320).optional().openapi({ description: 'next_cursor of the previous page (an address: the list is in address order)' }),
    }),
  },
  responses: { 200: json(z.object({ data: z.array(SuppressionSchema), next_cursor: z.string().nullable() }), 'In address order'), ...errors(400, 401, 403) },
});
const one = createRoute({
  method: 'get',
  path: '/{address}',
  tags,
  security: bearer,
  middleware: [requireScope('send')] as const,
  request: { params: z.object({ address: z.string().max(320) }) },
  responses: { 200: json(SuppressionSchema, 'The address is suppressed: later sends skip it'), ...errors(401, 403, 404) },
});
const remove = createRoute({
  method: 'delete',
  path: '/{address}',
  tags,
  security: bearer,
  middleware: [requireScope('send')] as const,
  request: { params: z.object({ address: z.string().max(320) }) },
  responses: { 204: { description: 'Removed: later sends go to it again' }, ...errors(401, 403, 404) },
});

const suppressionJson = (s: Suppression) => ({ address: s.address, reason: s.reason, detail: s.detail, send_id: s.sendId, created_at: s.createdAt });

/**
 * GET /api/suppressions(/:address), DELETE /api/suppressions/:address. The list is the account's: a key
 * restricted to one domain cannot change it (its bounces concern the whole account).
 */
export function suppressionRoutes(deps: Deps) {
  const r = router();
  r.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const rows = await deps.repos.suppressions.list(c.get('auth').user.id, q.before, q.limit + 1);
    const items = rows.slice(0, q.limit);
    return c.json(
      {
        data: items.map(suppressionJson),
        next_cursor: rows.length > q.limit ? (items[items.length - 1]?.address ?? null) : null,
      },
      200,
    );
  });
  // Is this address suppressed? 404 when it is not (any case: addresses are kept lower-cased).
  r.openapi(one, async (c) => {
    const s = await deps.repos.suppressions.get(c.get('auth').user.id, c.req.valid('param').address);
    if (!s) throw notFound('suppression');
    return c.json(suppressionJson(s), 200);
  });
  r.openapi(remove, async (c) => {
    const auth = c.get('auth');
    if (auth.domainId) throw new HttpError(403, 'this API key is restricted to one domain and cannot change the account suppression list');
    if (!await deps.repos.suppressions.remove(auth.user.id, c.req.valid('param').address)) throw notFound('suppression');
    return c.body(null, 204);
  });
  return r;
}
