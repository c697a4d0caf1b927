import { createRoute, z } from '@hono/zod-openapi';
import type { OidcIdentity } from '../auth/google.js';
import { createSession } from '../auth/sessions.js';
import type { User } from '../db/users.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { newId } from '../ids.js';
import { SessionSchema, userJson } from './auth.js';
import { errors, json, jsonBody, router } from './openapi.js';

const googleRoute = createRoute({
  method: 'post',
  path: '/google',
  tags: ['auth'],
  request: {
    body: jsonBody(
      z.object({
        code: z.string().min(1).max(4096),
        redirect_uri: z.url().max(2048),
      }),
    ),
  },
  responses: { 200: json(SessionSchema, 'Signed in with Google'), ...errors(400, 401, 403, 404, 409, 502) },
});

/**
 * The account of a verified Google identity: the one already linked to it, else a new
 * password-less account. An existing password account with the same email is never merged:
 * sign-up does not prove the mailbox, so that account may be an attacker's, made in advance
 * with the victim's address and a password the attacker keeps (account pre-hijacking).
 */
async function accountFor(deps: Deps, id: OidcIdentity): Promise<User> {
  const linked = await deps.repos.users.getByGoogleSub(id.sub);
  if (linked) return linked;
  const byEmail = await deps.repos.users.getByEmail(id.email);
  if (byEmail) {
    if (byEmail.googleSub !== null) throw new HttpError(409, 'this email is linked to another Google account');
    throw new HttpError(409, 'an account with this email already exists: sign in with its password');
  }
  return await deps.repos.users.insert({ id: newId('usr'), email: id.email, passwordHash: null, googleSub: id.sub, createdAt: deps.now() });
}

/** POST /api/auth/google: 404 when GOOGLE_CLIENT_ID is not set. */
export function googleRoutes(deps: Deps) {
  const r = router();
  // The OIDC client (and jose, ~8 MB) is loaded only on a server where Google sign-in is configured.
  const google = deps.config.google;
  const client = google ? import('../auth/google.js').then((m) => m.createOidcClient(google, deps.now)) : null;
  r.openapi(googleRoute, async (c) => {
    if (!client) throw new HttpError(404, 'Google sign-in is not configured on this server');
    const body = c.req.valid('json');
    const user = await accountFor(deps, await (await client).signIn(body.code, body.redirect_uri));
    return c.json({ token: await createSession(deps, user.id), user: userJson(user) }, 200);
  });
  return r;
}
