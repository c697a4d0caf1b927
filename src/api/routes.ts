import { createRoute, z } from '@hono/zod-openapi';
import type { Route } from '../db/routes.js';
import type { Deps } from '../deps.js';
import { canSeeDomain, listDomain, notFound, ownDomain, requireScope, type Auth } from './guard.js';
import { bearer, errors, IdParam, json, jsonBody, page, PageQuery, paginate, router } from './openapi.js';
import { applyRoutePatch, RouteCreateSchema, routeJson, RoutePatchSchema, RouteSchema } from './route-input.js';

const tags = ['routes'];
const create = createRoute({
  method: 'post',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('routes:write')] as const,
  request: { body: jsonBody(RouteCreateSchema) },
  responses: { 201: json(RouteSchema, 'Created'), ...errors(400, 401, 403, 404, 409) },
});
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  middleware: [requireScope('routes:read')] as const,
  request: { query: PageQuery.extend({ domain_id: z.string().max(64).optional() }) },
  responses: { 200: json(page(RouteSchema), 'Newest first'), ...errors(400, 401, 403) },
});
const get = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('routes:read')] as const,
  request: { params: IdParam },
  responses: { 200: json(RouteSchema, 'The route'), ...errors(401, 403, 404) },
});
const patch = createRoute({
  method: 'patch',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('routes:write')] as const,
  request: { params: IdParam, body: jsonBody(RoutePatchSchema) },
  responses: { 200: json(RouteSchema, 'Updated'), ...errors(400, 401, 403, 404, 409) },
});
const remove = createRoute({
  method: 'delete',
  path: '/{id}',
  tags,
  security: bearer,
  middleware: [requireScope('routes:write')] as const,
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted (its past deliveries keep their route_id)' }, ...errors(401, 403, 404) },
});

async function ownRoute(deps: Deps, auth: Auth, id: string): Promise<Route> {
  const route = await deps.repos.routes.get(auth.user.id, id);
  if (!route || !canSeeDomain(auth, route.domainId)) throw notFound('route');
  return route;
}

/** GET/POST /api/routes, GET/PATCH/DELETE /api/routes/:id. */
export function routeRoutes(deps: Deps) {
  const r = router();

  r.openapi(create, async (c) => {
    const auth = c.get('auth');
    const body = c.req.valid('json');
    const domain = await ownDomain(deps, auth, body.domain_id);
    const route = await applyRoutePatch(deps, domain, auth.user.id, null, body);
    await deps.repos.routes.insert(route);
    return c.json(routeJson(route), 201);
  });

  r.openapi(list, async (c) => {
    const auth = c.get('auth');
    const q = c.req.valid('query');
    const domainId = listDomain(auth, q.domain_id);
    if (domainId === false) return c.json({ data: [], next_cursor: null }, 200);
    const rows = await deps.repos.routes.list(auth.user.id, { domainId, before: q.before, limit: q.limit + 1 });
    return c.json(paginate(rows, q.limit, routeJson), 200);
  });

  r.openapi(get, async (c) => c.json(routeJson(await ownRoute(deps, c.get('auth'), c.req.valid('param').id)), 200));

  r.openapi(patch, async (c) => {
    const auth = c.get('auth');
    const current = await ownRoute(deps, auth, c.req.valid('param').id);
    const domain = await ownDomain(deps, auth, current.domainId);
    const route = await applyRoutePatch(deps, domain, auth.user.id, current, c.req.valid('json'));
    await deps.repos.routes.update(route);
    return c.json(routeJson(route), 200);
  });

  r.openapi(remove, async (c) => {
    const auth = c.get('auth');
    const route = await ownRoute(deps, auth, c.req.valid('param').id);
    await deps.repos.routes.delete(auth.user.id, route.id);
    return c.body(null, 204);
  });
  return r;
}
