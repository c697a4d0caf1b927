import type { MiddlewareHandler } from 'hono';
import { findApiKey, hasScope, type Scope } from '../auth/api-keys.js';
import { findSession } from '../auth/sessions.js';
import { findAccessToken } from '../oauth/tokens.js';
import type { Domain } from '../db/domains.js';
import type { User } from '../db/users.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { tooMany, type Limits } from './limits.js';
import type { ApiEnv } from './openapi.js';

/** Who is calling and with what rights; set by `authenticate`. */
export interface Auth {
  user: User;
  kind: 'session' | 'key' | 'oauth';
  /** ses_…, key_… or an OAuth grant's grt_…: what logout revokes and the rate limit counts. */
  credentialId: string;
  scopes: readonly string[];
  /** Set for an API key restricted to one domain: everything else is invisible (404). */
  domainId: string | null;
}

const unauthorized = (message: string, challenge = 'Bearer') => new HttpError(401, message, { 'WWW-Authenticate': challenge });

/** Resolves `Authorization: Bearer mhs_…|mhk_…|mho_…` on every request, so revocation is immediate. */
export function authenticate(deps: Deps, limits: Limits): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match) throw unauthorized('missing credential: send Authorization: Bearer <token>');
    const token = match[1]!;
    let auth: Auth | null = null;
    if (token.startsWith('mhs_')) {
      const found = await findSession(deps, token);
      if (found) auth = { user: found.user, kind: 'session', credentialId: found.session.id, scopes: ['*'], domainId: null };
    } else if (token.startsWith('mhk_')) {
      const found = await findApiKey(deps, token);
      if (found) {
        const { key, user } = found;
        auth = { user, kind: 'key', credentialId: key.id, scopes: key.scopes, domainId: key.domainId };
      }
    } else if (token.startsWith('mho_')) {
      const found = await findAccessToken(deps, token);
      if (!found) throw unauthorized('invalid, expired or revoked access token', 'Bearer error="invalid_token"');
      auth = { user: found.user, kind: 'oauth', credentialId: found.grant.id, scopes: found.scopes, domainId: null };
    }
    if (!auth) throw unauthorized('invalid, expired or revoked credential');
    const wait = limits.perCredential.take(auth.credentialId);
    if (wait > 0) throw tooMany(wait, 'requests for this credential');
    c.set('auth', auth);
    await next();
  };
}

/** 403 unless a session, or an API key or OAuth access token holding `scope` (or `*`). */
export function requireScope(scope: Scope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const auth = c.get('auth');
    if (auth.kind === 'key' && !hasScope(auth.scopes, scope)) throw new HttpError(403, `this API key lacks the ${scope} scope`);
    if (auth.kind === 'oauth' && !hasScope(auth.scopes, scope)) {
      // RFC 6750 §3.1: the challenge names the scope the app would have to ask the user for.
      throw new HttpError(403, `this access token lacks the ${scope} scope`, { 'WWW-Authenticate': `Bearer error="insufficient_scope", scope="${scope}"` });
    }
    await next();
  };
}

/** Account-level actions (API keys, apps, logout) take a session: a key or an app cannot mint or revoke credentials. */
export const requireSession: MiddlewareHandler<ApiEnv> = async (c, next) => {
  if (c.get('auth').kind !== 'session') throw new HttpError(403, 'this endpoint needs a session token, not an API key or access token');
  await next();
};

/** One message for "missing" and "not yours" (DESIGN §1 inv. 4). */
export const notFound = (what: string) => new HttpError(404, `${what} not found`);

/** Whether a key restricted to one domain may see a resource of `domainId`. */
export const canSeeDomain = (auth: Auth, domainId: string) => auth.domainId === null || auth.domainId === domainId;

/**
 * The domain a list (routes, blocks, messages, sends) is narrowed to: a restricted key's own, else
 * the `domain_id` filter if any. `false` when the filter names a domain outside the key's reach:
 * the list is then empty, as for an unknown id, never the key's own domain in its place.
 */
export const listDomain = (auth: Auth, filter: string | undefined): string | undefined | false =>
  filter && !canSeeDomain(auth, filter) ? false : (auth.domainId ?? filter);

/**
 * Whether the caller may see a message: one stored for recipients at several of the account's
 * domains is under each of them, so a key restricted to any of those domains sees it.
 */
export const canSeeMessage = (auth: Auth, m: { domainIds: readonly string[] }) =>
  auth.domainId === null || m.domainIds.includes(auth.domainId);

/** The caller's domain, or the same 404 whether it is missing, another user's or outside the key's domain. */
export async function ownDomain(deps: Deps, auth: Auth, id: string): Promise<Domain> {
  const domain = await deps.repos.domains.get(auth.user.id, id);
  if (!domain || !canSeeDomain(auth, domain.id)) throw notFound('domain');
  return domain;
}
