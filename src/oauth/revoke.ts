import type { OAuthApp } from '../db/oauth-apps.js';
import type { Deps } from '../deps.js';
import { sha256Hex } from '../auth/secrets.js';
import { OAuthError } from './errors.js';
import { required, type OAuthForm } from './request.js';

/**
 * RFC 7009 §2.1. An unknown, expired or already revoked token is success (§2.2: the client
 * cannot act on the difference). A refresh token revokes its whole family, access tokens
 * included (the SHOULD of §2.1); an access token revokes only itself. token_type_hint is
 * optional and ignored: one lookup finds either kind.
 */
export async function revokeToken(deps: Deps, app: OAuthApp, form: OAuthForm): Promise<void> {
  const tokenHash = sha256Hex(required(form, 'token'));
  const found = await deps.repos.oauthTokens.find(tokenHash);
  if (!found) return;
  if (found.grant.appId !== app.id) throw new OAuthError('unauthorized_client', 'the token was issued to another client');
  if (found.token.kind === 'refresh') await deps.repos.oauthTokens.deleteGrant(found.grant.id);
  else await deps.repos.oauthTokens.deleteToken(tokenHash);
}
