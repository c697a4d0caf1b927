import { Hono, type Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { SlidingWindow } from '../auth/throttle.js';
import type { Deps } from '../deps.js';
import { clientIp } from '../api/limits.js';
import { authenticateClient } from './client-auth.js';
import { noStore, OAuthError, oauthErrorResponse } from './errors.js';
import { metadata } from './metadata.js';
import { MAX_FORM_BYTES, readOAuthForm, required } from './request.js';
import { revokeToken } from './revoke.js';
import { exchangeCode, refresh } from './token.js';

/** Paths served here, outside the dashboard's page middleware (cookies, CSRF, sign-in redirect). */
export const OAUTH_ENDPOINTS: ReadonlySet<string> = new Set(['/oauth/token', '/oauth/revoke', '/.well-known/oauth-authorization-server']);

/** Per client address over token and revocation requests: refreshing is hourly per user, so this is many users. */
export const TOKEN_REQUESTS_PER_MINUTE = 120;

/** POST /oauth/token, POST /oauth/revoke, GET /.well-known/oauth-authorization-server. */
export function oauthRoutes(deps: Deps): Hono {
  const r = new Hono();
  const perIp = new SlidingWindow({ limit: TOKEN_REQUESTS_PER_MINUTE, windowMs: 60_000, now: deps.now });

  r.onError((err, c) => {
    if (err instanceof OAuthError) return oauthErrorResponse(c, err);
    deps.log.error('unhandled OAuth error', { err, path: c.req.path });
    return oauthErrorResponse(c, new OAuthError('temporarily_unavailable', 'internal error'));
  });

  // Counted while it streams in, so a body without Content-Length cannot grow past the cap either.
  r.use(
    '/oauth/*',
    bodyLimit({
      maxSize: MAX_FORM_BYTES,
      onError: () => {
        throw new OAuthError('invalid_request', `body larger than ${MAX_FORM_BYTES} bytes`, 413);
      },
    }),
  );

  const throttle = (c: Context) => {
    const wait = perIp.take(clientIp(c, deps.config.trustProxy));
    if (wait > 0) throw new OAuthError('temporarily_unavailable', `too many requests; retry in ${wait} s`, 429, { 'Retry-After': String(wait) });
  };

  r.post('/oauth/token', async (c) => {
    throttle(c);
    const form = await readOAuthForm(c);
    const app = await authenticateClient(deps, c.req.header('authorization'), form);
    const grantType = required(form, 'grant_type');
    let body;
    if (grantType === 'authorization_code') body = await exchangeCode(deps, app, form);
    else if (grantType === 'refresh_token') body = await refresh(deps, app, form);
    else throw new OAuthError('unsupported_grant_type', 'grant_type must be authorization_code or refresh_token');
    noStore(c);
    return c.json(body, 200);
  });

  r.post('/oauth/revoke', async (c) => {
    throttle(c);
    const form = await readOAuthForm(c);
    const app = await authenticateClient(deps, c.req.header('authorization'), form);
    await revokeToken(deps, app, form);
    noStore(c);
    return c.body(null, 200);
  });

  r.get('/.well-known/oauth-authorization-server', (c) => {
    c.header('Cache-Control', 'public, max-age=3600');
    return c.json(metadata(deps));
  });
  return r;
}
