import { createRemoteJWKSet, errors as joseErrors, jwtVerify, type JWTPayload } from 'jose';
import type { Config } from '../config.js';
import { HttpError } from '../errors.js';
import { normaliseEmail } from './email.js';

export interface OidcIdentity {
  sub: string;
  email: string;
}

interface Discovery {
  issuer: string;
  token_endpoint: string;
  jwks_uri: string;
}

const TIMEOUT_MS = 10_000;

/**
 * OpenID Connect authorization-code sign-in (Google by default; GOOGLE_ISSUER may point at any
 * issuer). Discovery and the JWKS are fetched once and cached; jose refetches the JWKS when a
 * token names a key it does not know (key rotation).
 */
export function createOidcClient(google: NonNullable<Config['google']>, now: () => number) {
  let meta: Promise<{ discovery: Discovery; jwks: ReturnType<typeof createRemoteJWKSet> }> | undefined;

  const load = () =>
    (meta ??= (async () => {
      const res = await fetch(`${google.issuer}/.well-known/openid-configuration`, { signal: AbortSignal.timeout(TIMEOUT_MS) });
      if (!res.ok) throw new Error(`discovery answered ${res.status}`);
      const discovery = (await res.json()) as Discovery;
      if (!discovery.token_endpoint || !discovery.jwks_uri || !discovery.issuer) throw new Error('discovery document incomplete');
      return { discovery, jwks: createRemoteJWKSet(new URL(discovery.jwks_uri), { timeoutDuration: TIMEOUT_MS }) };
    })().catch((err: unknown) => {
      meta = undefined; // try again on the next sign-in rather than caching a failure
      throw err;
    }));

  async function exchange(code: string, redirectUri: string): Promise<string> {
    const { discovery } = await load();
    const res = await fetch(discovery.token_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({
        grant_type: 'authorization_code',
        code,
        redirect_uri: redirectUri,
        client_id: google.clientId,
        client_secret: google.clientSecret,
      }),
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    const body = (await res.json().catch(() => ({}))) as { id_token?: unknown; error?: unknown };
    // 4xx: the code is bad, used or for another redirect_uri; the client must start over.
    if (res.status >= 400 && res.status < 500) {
      throw new HttpError(400, `authorization code rejected by the identity provider (${String(body.error ?? res.status)})`);
    }
    if (!res.ok || typeof body.id_token !== 'string') throw new HttpError(502, 'identity provider token endpoint failed');
    return body.id_token;
  }

  async function verify(idToken: string): Promise<JWTPayload> {
    const { discovery, jwks } = await load();
    // Google documents both spellings of its issuer (OpenID Connect guide, "validating an ID token").
    const issuers = [discovery.issuer, discovery.issuer.replace(/^https:\/\//, '')];
    try {
      const { payload } = await jwtVerify(idToken, jwks, {
        issuer: issuers,
        audience: google.clientId,
        currentDate: new Date(now()),
        clockTolerance: 30,
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      return payload;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) throw new HttpError(401, `id_token rejected: ${err.message}`);
      throw err;
    }
  }

  return {
    /** Exchanges the code and verifies the id_token: iss, aud, exp, signature, email_verified. */
    async signIn(code: string, redirectUri: string): Promise<OidcIdentity> {
      let idToken: string;
      let payload: JWTPayload;
      try {
        idToken = await exchange(code, redirectUri);
        payload = await verify(idToken);
      } catch (err) {
        if (err instanceof HttpError) throw err;
        throw new HttpError(502, `identity provider unreachable: ${(err as Error).message}`);
      }
      // Google sends a boolean; some issuers a string.
      const verified = payload.email_verified === true || payload.email_verified === 'true';
      const email = typeof payload.email === 'string' ? normaliseEmail(payload.email) : null;
      if (!email) throw new HttpError(401, 'id_token carries no usable email');
      if (!verified) throw new HttpError(403, 'the email of this Google account is not verified');
      return { sub: payload.sub!, email };
    },
  };
}

export type OidcClient = ReturnType<typeof createOidcClient>;
