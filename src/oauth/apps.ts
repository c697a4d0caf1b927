import { randomBytes } from 'node:crypto';
import type { OAuthApp } from '../db/oauth-apps.js';
import type { Deps } from '../deps.js';
import { newId } from '../ids.js';
import { newToken, sha256Hex } from '../auth/secrets.js';

/**
 * Registers an app. A confidential client (a server that can keep a secret) gets a client
 * secret, returned this once and stored as SHA-256 like API keys; a public client (a browser or
 * native app) gets none and relies on PKCE alone (RFC 6749 §2.1, RFC 8252 §8.4).
 */
export async function registerApp(
  deps: Deps,
  input: { userId: string; name: string; redirectUris: string[]; confidential: boolean },
): Promise<{ app: OAuthApp; secret: string | null }> {
  const now = deps.now();
  const secret = input.confidential ? newToken('mhcs_') : null;
  const app: OAuthApp = {
    id: newId('app', now),
    userId: input.userId,
    name: input.name,
    // Public, but unguessable anyway: nobody can aim a flow at an app they have not been shown.
    clientId: `mhc_${randomBytes(16).toString('base64url')}`,
    secretHash: secret ? sha256Hex(secret) : null,
    redirectUris: [...new Set(input.redirectUris)],
    createdAt: now,
  };
  await deps.repos.oauthApps.insert(app);
  return { app, secret };
}
