import { createRoute, z } from '@hono/zod-openapi';
import { createApiKey, SCOPES } from '../auth/api-keys.js';
import type { ApiKey } from '../db/api-keys.js';
import type { Deps } from '../deps.js';
import { notFound, ownDomain, requireSession } from './guard.js';
import { bearer, errors, IdParam, json, jsonBody, page, PageQuery, paginate, router } from './openapi.js';

const KeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: 'The first characters of the key, to recognise it' }),
    scopes: z.array(z.string()),
    domain_id: z.string().nullable(),
    created_at: z.number().int(),
    last_used_at: z.number().int().nullable().openapi({ description: 'Precise to a minute' }),
  })
  .openapi('ApiKey');
const NewKeySchema = KeySchema.extend({ key: z.string().openapi({ description: 'The key itself: shown this once only', example: 'mhk_…' }) }).openapi('NewApiKey');

const keyJson = (k: ApiKey) => ({
  id: k.id,
  name: k.name,
  prefix: k.prefix,
  scopes: k.scopes,
  domain_id: k.domainId,
  created_at: k.createdAt,
  last_used_at: k.lastUsedAt,
});

const tags = ['keys'];
const create = createRoute({
  method: 'post',
  path: '/',
  tags,
  security: bearer,
  request: {
    body: jsonBody(
      z.object({
        name: z.string().trim().min(1).max(100),
        scopes: z.array(z.enum(SCOPES)).min(1).max(SCOPES.length * 2),
        domain_id: z.string().max(64).nullish().openapi({ description: 'Restrict the key to this domain' }),
      }),
    ),
  },
  responses: { 201: json(NewKeySchema, 'Created; store `key` now'), ...errors(400, 401, 403, 404) },
});
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  request: { query: PageQuery },
  responses: { 200: json(page(KeySchema), 'Live keys, newest first'), ...errors(400, 401, 403) },
});
const revoke = createRoute({
  method: 'delete',
  path: '/{id}',
  tags,
  security: bearer,
  request: { params: IdParam },
  responses: { 204: { description: 'Revoked: refused from the next request on' }, ...errors(401, 403, 404) },
});

/** GET/POST /api/keys, DELETE /api/keys/:id: a session only, never a key. */
export function keyRoutes(deps: Deps) {
  const r = router();
  r.use('*', requireSession);

  r.openapi(create, async (c) => {
    const auth = c.get('auth');
    const body = c.req.valid('json');
    const domainId = body.domain_id ? (await ownDomain(deps, auth, body.domain_id)).id : null;
    const { key, secret } = await createApiKey(deps, { userId: auth.user.id, name: body.name, scopes: body.scopes, domainId });
    return c.json({ ...keyJson(key), key: secret }, 201);
  });

  r.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const rows = await deps.repos.apiKeys.list(c.get('auth').user.id, { before: q.before, limit: q.limit + 1 });
    return c.json(paginate(rows, q.limit, keyJson), 200);
  });

  r.openapi(revoke, async (c) => {
    if (!await deps.repos.apiKeys.revoke(c.get('auth').user.id, c.req.valid('param').id, deps.now())) throw notFound('API key');
    return c.body(null, 204);
  });
  return r;
}
