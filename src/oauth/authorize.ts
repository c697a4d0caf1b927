import { randomBytes } from 'node:crypto';
import type { OAuthApp } from '../db/oauth-apps.js';
import type { Deps } from '../deps.js';
import { sha256Hex } from '../auth/secrets.js';
import { isS256Challenge } from './pkce.js';
import { matchesRegistered, withParams } from './redirect-uris.js';
import { parseScope } from './scopes.js';

/** RFC 6749 §4.1.2 recommends at most 10 minutes; one is plenty for a redirect and a POST. */
export const CODE_TTL_MS = 60 * 1000;

/** A request that passed every check: what the consent page shows and the approval uses. */
export interface AuthorizeRequest {
  app: OAuthApp;
  redirectUri: string;
  /** null when the client sent none: then none goes back either. */
  state: string | null;
  scopes: string[];
  codeChallenge: string;
}

/**
 * RFC 6749 §4.1.2.1: a bad client_id or redirect_uri is shown to the user (`page`), never sent
 * to a URI we cannot trust; every other problem goes back to the app as `redirect`.
 */
export type Checked = { ok: true; req: AuthorizeRequest } | { ok: false; page: string } | { ok: false; redirect: string };

/** Every value of one parameter (query or form). */
export type Params = (name: string) => string[];

/** The issuer: PUBLIC_URL's origin, the same string the metadata document names (RFC 8414 §2). */
export const issuerOf = (deps: Deps) => new URL(deps.config.publicUrl).origin;

/** The error redirect of RFC 6749 §4.1.2.1, with `iss` (RFC 9207) against mix-up attacks. */
export function errorRedirect(deps: Deps, redirectUri: string, state: string | null, error: string, description: string): string {
  return withParams(redirectUri, { error, error_description: description, state, iss: issuerOf(deps) });
}

export async function checkAuthorize(deps: Deps, all: Params): Promise<Checked> {
  // RFC 6749 §3.1: parameters MUST NOT be repeated; a repeated client_id or redirect_uri leaves
  // us without a trustworthy place to send the error.
  const one = (name: string) => all(name)[0];
  const clientId = all('client_id');
  if (clientId.length !== 1 || !clientId[0]) return { ok: false, page: 'The link that brought you here has no client_id (or more than one): ask the app that sent you for a new one.' };
  const app = await deps.repos.oauthApps.getByClientId(clientId[0]);
  if (!app) return { ok: false, page: 'No app with this client_id is registered here: it may have been deleted. Nothing was shared.' };
  const redirectUri = all('redirect_uri');
  if (redirectUri.length !== 1 || !redirectUri[0]) return { ok: false, page: `“${app.name}” did not say where to send you back (redirect_uri is required). Nothing was shared.` };
  if (!matchesRegistered(app.redirectUris, redirectUri[0])) {
    return { ok: false, page: `“${app.name}” asked to send you to an address it has not registered (${redirectUri[0]}). Nothing was shared.` };
  }
  const uri = redirectUri[0];
  const stateValues = all('state');
  const state = stateValues[0] ?? null;
  const fail = (error: string, description: string): Checked => ({ ok: false, redirect: errorRedirect(deps, uri, state, error, description) });

  for (const name of ['state', 'response_type', 'scope', 'code_challenge', 'code_challenge_method']) {
    if (all(name).length > 1) return fail('invalid_request', `${name} is repeated`);
  }
  const responseType = one('response_type');
  if (!responseType) return fail('invalid_request', 'response_type is required');
  if (responseType !== 'code') return fail('unsupported_response_type', 'only response_type=code is supported');
  const challenge = one('code_challenge');
  // RFC 7636 §4.4.1: PKCE is required here, and an unsupported method is invalid_request.
  if (!challenge) return fail('invalid_request', 'code_challenge is required (PKCE, RFC 7636)');
  if (one('code_challenge_method') !== 'S256') return fail('invalid_request', 'code_challenge_method must be S256; plain is not supported');
  if (!isS256Challenge(challenge)) return fail('invalid_request', 'code_challenge must be 43 base64url characters (S256)');
  const scope = parseScope(one('scope'));
  if ('error' in scope) return fail('invalid_scope', scope.error);
  return { ok: true, req: { app, redirectUri: uri, state, scopes: scope.scopes, codeChallenge: challenge } };
}

/** The user approved: a single-use code, valid 60 s, bound to app, user, redirect URI and challenge. */
export async function approve(deps: Deps, req: AuthorizeRequest, userId: string): Promise<string> {
  const now = deps.now();
  // 256 random bits: a code is a bearer credential for its 60 s, stored hashed like tokens.
  const code = randomBytes(32).toString('base64url');
  await deps.repos.oauthCodes.insert({
    codeHash: sha256Hex(code),
    appId: req.app.id,
    userId,
    redirectUri: req.redirectUri,
    scopes: req.scopes,
    codeChallenge: req.codeChallenge,
    createdAt: now,
    expiresAt: now + CODE_TTL_MS,
  });
  return withParams(req.redirectUri, { code, state: req.state, iss: issuerOf(deps) });
}

export const deny = (deps: Deps, req: AuthorizeRequest) => errorRedirect(deps, req.redirectUri, req.state, 'access_denied', 'the user denied the request');
