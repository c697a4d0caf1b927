import { createRoute, z } from '@hono/zod-openapi';
import type { OAuthApp } from '../db/oauth-apps.js';
import type { Deps } from '../deps.js';
import { registerApp } from '../oauth/apps.js';
import { MAX_REDIRECT_URIS, redirectUriProblem } from '../oauth/redirect-uris.js';
import { notFound, requireSession } from './guard.js';
import { bearer, errors, IdParam, json, jsonBody, page, PageQuery, paginate, router } from './openapi.js';

export const AppSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    client_id: z.string().openapi({ description: 'Public: goes in the authorize URL', example: 'mhc_…' }),
    confidential: z.boolean().openapi({ description: 'true: the app authenticates with its client_secret; false: a public client (PKCE only)' }),
    redirect_uris: z.array(z.string()),
    created_at: z.number().int(),
  })
  .openapi('OAuthApp');
const NewAppSchema = AppSchema.extend({
  client_secret: z.string().optional().openapi({ description: 'Confidential apps only: shown this once', example: 'mhcs_…' }),
}).openapi('NewOAuthApp');

const RedirectUri = z.string().superRefine((uri, ctx) => {
  const problem = redirectUriProblem(uri);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

export const appJson = (a: OAuthApp) => ({
  id: a.id,
  name: a.name,
  client_id: a.clientId,
  confidential: a.secretHash !== null,
  redirect_uris: a.redirectUris,
  created_at: a.createdAt,
});

const tags = ['apps'];
const create = createRoute({
  method: 'post',
  path: '/',
  tags,
  security: bearer,
  request: {
    body: jsonBody(
      z.object({
        name: z.string().trim().min(1).max(100).openapi({ description: 'Shown to users on the consent page' }),
        redirect_uris: z
          .array(RedirectUri)
          .min(1)
          .max(MAX_REDIRECT_URIS)
          .openapi({ description: 'Exact URIs: https, or http on loopback (RFC 8252); no wildcards, no fragments' }),
        confidential: z.boolean().default(true).openapi({ description: 'false for a browser or native app that cannot keep a secret' }),
      }),
    ),
  },
  responses: { 201: json(NewAppSchema, 'Registered; store client_secret now'), ...errors(400, 401, 403) },
});
const list = createRoute({
  method: 'get',
  path: '/',
  tags,
  security: bearer,
  request: { query: PageQuery },
  responses: { 200: json(page(AppSchema), 'Your apps, newest first'), ...errors(400, 401, 403) },
});
const getOne = createRoute({
  method: 'get',
  path: '/{id}',
  tags,
  security: bearer,
  request: { params: IdParam },
  responses: { 200: json(AppSchema, 'The app'), ...errors(401, 403, 404) },
});
const remove = createRoute({
  method: 'delete',
  path: '/{id}',
  tags,
  security: bearer,
  request: { params: IdParam },
  responses: { 204: { description: 'Deleted: every token issued to it stops working at once' }, ...errors(401, 403, 404) },
});

/** POST/GET /api/apps, GET/DELETE /api/apps/:id: OAuth apps you register; a session only. */
export function appRoutes(deps: Deps) {
  const r = router();
  r.use('*', requireSession);

  r.openapi(create, async (c) => {
    const body = c.req.valid('json');
    const { app, secret } = await registerApp(deps, { userId: c.get('auth').user.id, name: body.name, redirectUris: body.redirect_uris, confidential: body.confidential });
    return c.json({ ...appJson(app), ...(secret ? { client_secret: secret } : {}) }, 201);
  });

  r.openapi(list, async (c) => {
    const q = c.req.valid('query');
    const rows = await deps.repos.oauthApps.list(c.get('auth').user.id, { before: q.before, limit: q.limit + 1 });
    return c.json(paginate(rows, q.limit, appJson), 200);
  });

  r.openapi(getOne, async (c) => {
    const app = await deps.repos.oauthApps.get(c.get('auth').user.id, c.req.valid('param').id);
    if (!app) throw notFound('app');
    return c.json(appJson(app), 200);
  });

  r.openapi(remove, async (c) => {
    if (!await deps.repos.oauthApps.delete(c.get('auth').user.id, c.req.valid('param').id)) throw notFound('app');
    return c.body(null, 204);
  });
  return r;
}
