import type { Context } from 'hono';
import { OAuthError } from './errors.js';

/** Token and revocation requests are a handful of short parameters. */
export const MAX_FORM_BYTES = 16 * 1024;

/** A token or revocation request's parameters; an empty value counts as absent (RFC 6749 §3.1). */
export interface OAuthForm {
  get(name: string): string | undefined;
}

/**
 * The body as RFC 6749 §3.2 and RFC 7009 §2.1 require it: application/x-www-form-urlencoded, no
 * parameter twice.
 */
export async function readOAuthForm(c: Context): Promise<OAuthForm> {
  const type = (c.req.header('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') {
    throw new OAuthError('invalid_request', 'the body must be application/x-www-form-urlencoded');
  }
  // The size is capped before this by the routes' bodyLimit (MAX_FORM_BYTES).
  const params = new URLSearchParams(await c.req.text());
  for (const name of new Set(params.keys())) {
    if (params.getAll(name).length > 1) throw new OAuthError('invalid_request', `${name} is repeated`);
  }
  return { get: (name) => params.get(name) || undefined };
}

export function required(form: OAuthForm, name: string, why = ''): string {
  const v = form.get(name);
  if (v === undefined) throw new OAuthError('invalid_request', `${name} is required${why}`);
  return v;
}
