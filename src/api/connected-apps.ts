import { createRoute, z } from '@hono/zod-openapi';
import type { OAuthGrant } from '../db/oauth-tokens.js';
import type { Deps } from '../deps.js';
import { notFound, requireSession } from './guard.js';
import { bearer, errors, json, router } from './openapi.js';

export const ConnectedAppSchema = z
  .object({
    app_id: z.string(),
    name: z.string(),
    scopes: z.array(z.string()).openapi({ description: 'Everything you approved for it, over all its grants' }),
    approved_at: z.number().int().openapi({ description: 'The latest approval' }),
    last_used_at: z.number().int().nullable().openapi({ description: 'Its last API call or refresh, precise to a minute' }),
  })
  .openapi('ConnectedApp');

/** One row per app, however often it was approved: revoking is per app, as users think of it. */
async function byApp(deps: Deps, grants: OAuthGrant[]) {
  const rows = new Map<string, z.infer<typeof ConnectedAppSchema>>();
  for (const g of grants) {
    const row = rows.get(g.appId);
    if (!row) {
      const app = await deps.repos.oauthApps.getById(g.appId);
      rows.set(g.appId, { app_id: g.appId, name: app?.name ?? g.appId, scopes: [...g.scopes], approved_at: g.createdAt, last_used_at: g.lastUsedAt });
      continue;
    }
    row.scopes = [...new Set([...row.scopes, ...g.scopes])];
    row.approved_at = Math.max(row.approved_at, g.createdAt);
    if (g.lastUsedAt !== null) row.last_used_at = Math.max(row.last_used_at ?? 0, g.lastUsedAt);
  }
  return [...rows.values()];
}

const tags = ['apps'];
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  responses: { 200: json(z.object({ data: z.array(ConnectedAppSchema) }), 'Apps you approved, most recent first (not paginated: one row per app)'), ...errors(401, 403) },
});
const revoke = createRoute({
  method: 'delete',
  path: '/{app_id}',
  tags,
  security: bearer,
  request: { params: z.object({ app_id: z.string().openapi({ param: { name: 'app_id', in: 'path' }, description: 'app_…' }) }) },
  responses: { 204: { description: 'Revoked: its tokens are 401 from the next request on' }, ...errors(401, 403, 404) },
});

/** GET /api/connected-apps, DELETE /api/connected-apps/:app_id: apps you approved; a session only. */
export function connectedAppRoutes(deps: Deps) {
  const r = router();
  r.use('*', requireSession);
  r.openapi(list, async (c) => c.json({ data: await byApp(deps, await deps.repos.oauthTokens.listByUser(c.get('auth').user.id)) }, 200));
  r.openapi(revoke, async (c) => {
    if (await deps.repos.oauthTokens.deleteGrantsOf(c.get('auth').user.id, c.req.valid('param').app_id) === 0) throw notFound('connected app');
    return c.body(null, 204);
  });
  return r;
}
