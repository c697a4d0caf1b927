import { timingSafeEqual } from 'node:crypto';
import type { OAuthApp } from '../db/oauth-apps.js';
import type { Deps } from '../deps.js';
import { sha256Hex } from '../auth/secrets.js';
import { invalidClient, OAuthError } from './errors.js';
import type { OAuthForm } from './request.js';

/** RFC 6749 §2.3.1: HTTP Basic's user and password are form-urlencoded client_id and secret. */
function formDecode(s: string): string {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    throw invalidClient('the Basic credentials are not form-urlencoded');
  }
}

function basic(header: string | undefined): { clientId: string; secret: string } | null {
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) throw invalidClient('the Basic credentials have no ":"');
  return { clientId: formDecode(decoded.slice(0, colon)), secret: formDecode(decoded.slice(colon + 1)) };
}

const sameHash = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

/**
 * The calling client. Confidential clients authenticate with HTTP Basic or client_id +
 * client_secret in the body (one method, never both: RFC 6749 §2.3); public clients send only
 * client_id and must not send a secret, since one they cannot keep proves nothing (§2.1).
 */
export async function authenticateClient(deps: Deps, authorization: string | undefined, form: OAuthForm): Promise<OAuthApp> {
  const viaBasic = basic(authorization);
  const bodyId = form.get('client_id');
  const bodySecret = form.get('client_secret');
  if (viaBasic && bodySecret !== undefined) throw new OAuthError('invalid_request', 'send the client secret once: in the Authorization header or in the body, not both');
  if (viaBasic && bodyId !== undefined && bodyId !== viaBasic.clientId) throw new OAuthError('invalid_request', 'client_id in the body differs from the Authorization header');
  const clientId = viaBasic?.clientId ?? bodyId;
  // An empty Basic password is no secret, as an empty body parameter is none (RFC 6749 §3.1).
  const secret = viaBasic ? viaBasic.secret || undefined : bodySecret;
  if (!clientId) throw invalidClient('client authentication failed: no client_id');
  const app = await deps.repos.oauthApps.getByClientId(clientId);
  if (!app) throw invalidClient('client authentication failed: unknown client_id');
  if (app.secretHash === null) {
    if (secret !== undefined) throw invalidClient('this is a public client: it has no secret and must not send one');
    return app;
  }
  if (secret === undefined) throw invalidClient('this confidential client must authenticate with its client_secret');
  if (!sameHash(sha256Hex(secret), app.secretHash)) throw invalidClient('client authentication failed: wrong client_secret');
  return app;
}
