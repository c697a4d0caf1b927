import type { OAuthApp } from '../db/oauth-apps.js';
import type { Deps } from '../deps.js';
import { sha256Hex } from '../auth/secrets.js';
import { OAuthError } from './errors.js';
import { isCodeVerifier, verifyS256 } from './pkce.js';
import { required, type OAuthForm } from './request.js';
import { parseScope } from './scopes.js';
import { newFamily, newTokens, type TokenResponse } from './tokens.js';

const invalidGrant = (message: string) => new OAuthError('invalid_grant', message);

/**
 * RFC 6749 §4.1.3 with RFC 7636 §4.5: the code is used at most once, whatever the outcome; a
 * second use revokes the family it started (§4.1.2: "SHOULD revoke … all tokens previously
 * issued based on that authorization code"). markUsed is a conditional update: of two requests
 * with one code, only one passes.
 */
export async function exchangeCode(deps: Deps, app: OAuthApp, form: OAuthForm): Promise<TokenResponse> {
  const code = required(form, 'code');
  const redirectUri = required(form, 'redirect_uri');
  const verifier = required(form, 'code_verifier', ' (PKCE, RFC 7636)');
  if (!isCodeVerifier(verifier)) throw new OAuthError('invalid_request', 'code_verifier must be 43 to 128 unreserved characters (RFC 7636 §4.1)');
  const codeHash = sha256Hex(code);
  const row = await deps.repos.oauthCodes.get(codeHash);
  if (!row) throw invalidGrant('unknown or expired authorization code');
  // Another client's code is refused without spending it: that client may not be its owner's.
  if (row.appId !== app.id) throw invalidGrant('the authorization code was issued to another client');
  const now = deps.now();
  if (!await deps.repos.oauthCodes.markUsed(codeHash, now)) {
    if (row.grantId) await deps.repos.oauthTokens.deleteGrant(row.grantId);
    throw invalidGrant('the authorization code was already used; every token issued from it is revoked');
  }
  if (now >= row.expiresAt) throw invalidGrant('the authorization code expired (codes are valid for 60 s)');
  if (row.redirectUri !== redirectUri) throw invalidGrant('redirect_uri differs from the one in the authorization request');
  if (!verifyS256(verifier, row.codeChallenge)) throw invalidGrant('code_verifier does not match the code_challenge');
  const grant = newFamily({ appId: app.id, userId: row.userId, scopes: row.scopes }, now);
  const tokens = newTokens(grant, grant.scopes, now);
  await deps.repos.startGrant(codeHash, grant, tokens.rows);
  return tokens.response;
}

/**
 * RFC 6749 §6 with rotation (OAuth 2.0 Security BCP, RFC 9700 §4.14.2): every use returns a new
 * refresh token; presenting one that was already exchanged means it leaked, so the whole family
 * is revoked, the legitimate holder's tokens too.
 */
export async function refresh(deps: Deps, app: OAuthApp, form: OAuthForm): Promise<TokenResponse> {
  const tokenHash = sha256Hex(required(form, 'refresh_token'));
  const found = await deps.repos.oauthTokens.find(tokenHash);
  if (!found || found.token.kind !== 'refresh') throw invalidGrant('unknown, expired or revoked refresh token');
  const { token, grant } = found;
  if (grant.appId !== app.id) throw invalidGrant('the refresh token was issued to another client');
  if (token.rotatedAt !== null) {
    await deps.repos.oauthTokens.deleteGrant(grant.id);
    throw invalidGrant('the refresh token was already used; every token of this grant is revoked');
  }
  const now = deps.now();
  if (token.expiresAt <= now) throw invalidGrant('the refresh token expired');
  let scopes = token.scopes;
  const asked = form.get('scope');
  if (asked !== undefined) {
    const parsed = parseScope(asked);
    if ('error' in parsed) throw new OAuthError('invalid_scope', parsed.error);
    const beyond = parsed.scopes.filter((s) => !token.scopes.includes(s));
    if (beyond.length) throw new OAuthError('invalid_scope', `not granted by the user: ${beyond.join(' ')}`);
    scopes = parsed.scopes;
  }
  const tokens = newTokens(grant, scopes, now);
  // Rotated only if no concurrent exchange of the same token rotated it first: that one is reuse.
  if (!(await deps.repos.rotateRefresh(tokenHash, grant.id, now, tokens.rows))) {
    await deps.repos.oauthTokens.deleteGrant(grant.id);
    throw invalidGrant('the refresh token was already used; every token of this grant is revoked');
  }
  return tokens.response;
}
