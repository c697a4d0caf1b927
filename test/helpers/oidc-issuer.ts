import { exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface OidcIssuer {
  /** http://127.0.0.1:PORT — use as GOOGLE_ISSUER. */
  issuer: string;
  /**
   * Registers an authorization code; the token endpoint answers it with an id_token of
   * `claims` (over defaults: iss, aud = clientId, iat, exp in 1 h). `sign: 'other'` signs with
   * a key the JWKS does not publish.
   */
  addCode(code: string, claims: JWTPayload, opts?: { sign?: 'other' }): void;
  /** Form bodies the token endpoint received, in order. */
  tokenRequests: URLSearchParams[];
  close(): Promise<void>;
}

/** A real OpenID Connect issuer on loopback: discovery, token endpoint, JWKS; RS256 id_tokens. */
export async function startOidcIssuer(clientId: string, clientSecret: string): Promise<OidcIssuer> {
  const { privateKey, publicKey } = await generateKeyPair('RS256');
  const other = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-key', alg: 'RS256', use: 'sig' };
  const codes = new Map<string, { claims: JWTPayload; sign?: 'other' }>();
  const tokenRequests: URLSearchParams[] = [];
  let issuer = '';

  const server = createServer((req, res) => {
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'GET' && req.url === '/.well-known/openid-configuration') {
      return send(200, {
        issuer,
        authorization_endpoint: `${issuer}/auth`,
        token_endpoint: `${issuer}/token`,
        jwks_uri: `${issuer}/jwks`,
        id_token_signing_alg_values_supported: ['RS256'],
      });
    }
    if (req.method === 'GET' && req.url === '/jwks') return send(200, { keys: [jwk] });
    if (req.method === 'POST' && req.url === '/token') {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      // The handler awaits the signature; a failure is a test failure, surfaced by the client's request.
      req.on('end', () => void (async () => {
        const form = new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
        tokenRequests.push(form);
        if (form.get('client_id') !== clientId || form.get('client_secret') !== clientSecret) {
          return send(401, { error: 'invalid_client' });
        }
        const entry = codes.get(form.get('code') ?? '');
        if (!entry || form.get('grant_type') !== 'authorization_code') return send(400, { error: 'invalid_grant' });
        codes.delete(form.get('code')!); // codes are single-use
        const now = Math.floor(Date.now() / 1000);
        const claims = { iss: issuer, aud: clientId, iat: now, exp: now + 3600, ...entry.claims };
        const key = entry.sign === 'other' ? other.privateKey : privateKey;
        const idToken = await new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: 'test-key' }).sign(key);
        send(200, { access_token: 'at', token_type: 'Bearer', expires_in: 3600, id_token: idToken });
      })());
      return;
    }
    send(404, { error: 'not_found' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    addCode: (code, claims, opts) => void codes.set(code, { claims, sign: opts?.sign }),
    tokenRequests,
    close() {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
