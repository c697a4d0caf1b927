import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Deps } from '../../deps.js';
import type { Web, WebEnv } from '../env.js';
import { WebError } from '../errors.js';
import { isSecure, startSession } from '../session.js';

const STATE_COOKIE = 'mh_oauth_state';
const STATE_PATH = '/auth/google';

/** The issuer's authorization endpoint (discovery), fetched once; the code exchange stays in the API. */
function authorizationEndpoint(deps: Deps) {
  let cached: Promise<string> | undefined;
  return (issuer: string) =>
    (cached ??= (async () => {
      const res = await fetch(`${issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(10_000) });
      const doc = (await res.json()) as { authorization_endpoint?: unknown };
      if (!res.ok || typeof doc.authorization_endpoint !== 'string') throw new Error(`discovery answered ${res.status}`);
      return doc.authorization_endpoint;
    })().catch((err: unknown) => {
      cached = undefined;
      deps.log.warn('OIDC discovery failed', { err });
      throw new WebError(502, 'Google sign-in is unavailable right now; try again, or sign in with your password.');
    }));
}

/**
 * GET /auth/google: off to the identity provider with a random `state` (also in a short-lived
 * cookie); GET /auth/google/callback: state checked, then POST /api/auth/google does the rest.
 */
export function googlePages({ deps, api }: Web) {
  const r = new Hono<WebEnv>();
  const google = deps.config.google;
  const endpoint = authorizationEndpoint(deps);
  const redirectUri = `${deps.config.publicUrl}/auth/google/callback`;
  const need = () => {
    if (!google) throw new WebError(404, 'Google sign-in is not configured on this server.');
    return google;
  };

  r.get('/auth/google', async (c) => {
    const g = need();
    const state = randomBytes(18).toString('base64url');
    setCookie(c, STATE_COOKIE, state, { httpOnly: true, sameSite: 'Lax', path: STATE_PATH, secure: isSecure(deps, c), maxAge: 600 });
    const url = new URL(await endpoint(g.issuer));
    url.search = new URLSearchParams({
      client_id: g.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope: 'openid email',
      state,
      prompt: 'select_account',
    }).toString();
    return c.redirect(url.toString(), 302);
  });

  r.get('/auth/google/callback', async (c) => {
    need();
    const expected = getCookie(c, STATE_COOKIE);
    deleteCookie(c, STATE_COOKIE, { path: STATE_PATH, secure: isSecure(deps, c) });
    const code = c.req.query('code');
    // Without a matching state, someone else's code could sign this browser into their account.
    if (!expected || c.req.query('state') !== expected) throw new WebError(400, 'The Google sign-in expired or did not start here. Try again.');
    if (!code) throw new WebError(400, `Google sign-in was cancelled (${c.req.query('error') ?? 'no code'}).`);
    const res = await api.send<{ token: string }>(c, 'POST', '/api/auth/google', { code, redirect_uri: redirectUri });
    if (!res.ok) throw new WebError(res.status === 409 ? 409 : res.status >= 500 ? 502 : 400, res.error ?? 'Google sign-in failed');
    startSession(deps, c, res.data.token);
    return c.redirect('/domains', 303);
  });
  return r;
}
