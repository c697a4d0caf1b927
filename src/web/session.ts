import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { findSession, SESSION_LIFETIME_MS } from '../auth/sessions.js';
import type { Deps } from '../deps.js';
import type { WebEnv } from './env.js';
import { readForm } from './form.js';

export const SESSION_COOKIE = 'mh_session';

/** Pages anyone may open; every other page sends a signed-out visitor to /login. */
const PUBLIC = [/^\/login$/, /^\/signup$/, /^\/auth\/google(\/callback)?$/, /^\/static\//];

/** Secure when this request came over HTTPS or the public URL is HTTPS (TLS ends at a proxy). */
export const isSecure = (deps: Deps, c: Context) =>
  deps.config.publicUrl.startsWith('https:') || new URL(c.req.url).protocol === 'https:';

/** A per-session token for the hidden _csrf field: an HMAC of the session token, nothing to store. */
export const csrfToken = (secret: string, sessionToken: string) =>
  createHmac('sha256', secret).update(`mailhook-csrf\0${sessionToken}`).digest('base64url');

export function startSession(deps: Deps, c: Context, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    sameSite: 'Lax',
    path: '/',
    secure: isSecure(deps, c),
    maxAge: Math.floor(SESSION_LIFETIME_MS / 1000),
  });
}

export function endSession(deps: Deps, c: Context): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', secure: isSecure(deps, c) });
}

/** Reads the cookie; sets token, user and csrf for the page. */
export function loadSession(deps: Deps): MiddlewareHandler<WebEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE) ?? '';
    const found = token.startsWith('mhs_') ? await findSession(deps, token) : null;
    if (token && !found) endSession(deps, c);
    c.set('token', found ? token : null);
    c.set('user', found?.user ?? null);
    c.set('csrf', found ? csrfToken(deps.config.secret, token) : '');
    await next();
  };
}

const sameToken = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * Every signed-in form post carries this session's _csrf token, on top of the Origin check
 * (hono/csrf): either alone stops a cross-site post; together they survive a proxy that strips
 * Origin or a browser that omits it.
 */
export const checkCsrfToken: MiddlewareHandler<WebEnv> = async (c, next) => {
  if (c.req.method === 'POST' && c.get('token')) {
    const sent = (await readForm(c)).get('_csrf');
    if (!sameToken(sent, c.get('csrf'))) throw new HTTPException(403, { message: 'this form has expired or did not come from this dashboard' });
  }
  await next();
};

export const requireUser: MiddlewareHandler<WebEnv> = async (c, next) => {
  if (c.get('user') || PUBLIC.some((re) => re.test(c.req.path))) return next();
  const back = c.req.method === 'GET' && c.req.path !== '/' ? `?next=${encodeURIComponent(c.req.path + new URL(c.req.url).search)}` : '';
  return c.redirect(`/login${back}`, 303);
};

const BASE = 'http://mailhook.invalid';

/**
 * Where to go after sign-in: only a path on this site, else /domains. Browsers drop tabs and
 * newlines from a Location (WHATWG URL), so "/<TAB>/evil.example" would become the
 * protocol-relative "//evil.example": control characters anywhere are refused, the rest is
 * resolved against an origin, compared by origin, and sent back in its normalised form (which
 * also keeps non-ASCII out of the header, where it would be a 500).
 */
export function safeNext(next: string | undefined): string {
  if (!next || !next.startsWith('/') || /[\p{Cc}\\]/u.test(next)) return '/domains';
  let url: URL;
  try {
    url = new URL(next, BASE);
  } catch {
    return '/domains';
  }
  const path = url.pathname + url.search + url.hash;
  // "/.//evil.example" normalises to "//evil.example": as a Location that is another origin.
  if (url.origin !== BASE || !path.startsWith('/') || path.startsWith('//')) return '/domains';
  return path;
}
