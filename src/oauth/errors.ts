import type { Context } from 'hono';

/** RFC 6749 §5.2 and RFC 7009 §2.2.1 codes, plus RFC 6749 §4.1.2.1's for a rate limit. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'temporarily_unavailable';

/** An error the token and revocation endpoints answer as `{ error, error_description }`. */
export class OAuthError extends Error {
  constructor(
    readonly code: OAuthErrorCode,
    message: string,
    readonly status: 400 | 401 | 413 | 429 = 400,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Token responses carry credentials: RFC 6749 §5.1 forbids caching them. */
export function noStore(c: Context): void {
  c.header('Cache-Control', 'no-store');
  c.header('Pragma', 'no-cache');
}

export function oauthErrorResponse(c: Context, err: OAuthError): Response {
  noStore(c);
  for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
  return c.json({ error: err.code, error_description: err.message }, err.status);
}

/** RFC 6749 §5.2: a failed client authentication is 401 with a challenge for the scheme we take. */
export const invalidClient = (message: string) => new OAuthError('invalid_client', message, 401, { 'WWW-Authenticate': 'Basic realm="mailhook", charset="UTF-8"' });
