import type { OAuthGrant, OAuthToken } from '../db/oauth-tokens.js';
import type { User } from '../db/users.js';
import type { Deps } from '../deps.js';
import { newId } from '../ids.js';
import { newToken, sha256Hex } from '../auth/secrets.js';
import { TOUCH_INTERVAL_MS } from '../auth/sessions.js';

/** Short, so a leaked access token dies soon; the app refreshes without the user. */
export const ACCESS_TOKEN_TTL_MS = 60 * 60 * 1000;
/** Each rotation starts a new 90 days: a family unused that long ends by itself. */
export const REFRESH_TOKEN_TTL_MS = 90 * 24 * 60 * 60 * 1000;

/** RFC 6749 §5.1. */
export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  scope: string;
}

/**
 * A new access token (with `accessScopes`) and a new refresh token (with the family's scopes:
 * RFC 6749 §6 keeps a refresh token's scope identical): the response, and the rows to insert in
 * the transaction that starts or rotates the family.
 */
export function newTokens(grant: OAuthGrant, accessScopes: string[], now: number): { rows: OAuthToken[]; response: TokenResponse } {
  const access = newToken('mho_');
  const refresh = newToken('mhr_');
  return {
    rows: [
      { tokenHash: sha256Hex(access), grantId: grant.id, kind: 'access', scopes: accessScopes, createdAt: now, expiresAt: now + ACCESS_TOKEN_TTL_MS, rotatedAt: null },
      { tokenHash: sha256Hex(refresh), grantId: grant.id, kind: 'refresh', scopes: grant.scopes, createdAt: now, expiresAt: now + REFRESH_TOKEN_TTL_MS, rotatedAt: null },
    ],
    response: { access_token: access, token_type: 'Bearer', expires_in: ACCESS_TOKEN_TTL_MS / 1000, refresh_token: refresh, scope: accessScopes.join(' ') },
  };
}

/** A new token family for an exchanged code (written by repos.startGrant). */
export function newFamily(input: { appId: string; userId: string; scopes: string[] }, now: number): OAuthGrant {
  return { id: newId('grt', now), appId: input.appId, userId: input.userId, scopes: input.scopes, createdAt: now, lastUsedAt: now };
}

/** A live access token with its family and user; null when unknown, expired, revoked or its app deleted. */
export async function findAccessToken(deps: Deps, token: string): Promise<{ grant: OAuthGrant; scopes: string[]; user: User } | null> {
  const found = await deps.repos.oauthTokens.find(sha256Hex(token));
  if (!found || found.token.kind !== 'access') return null;
  const now = deps.now();
  if (found.token.expiresAt <= now) return null;
  const user = await deps.repos.users.get(found.grant.userId);
  if (!user) return null;
  const { grant } = found;
  if (grant.lastUsedAt === null || now - grant.lastUsedAt >= TOUCH_INTERVAL_MS) await deps.repos.oauthTokens.touch(grant.id, now);
  return { grant, scopes: found.token.scopes, user };
}
