import type { Context, Hono } from 'hono';
import type { WebEnv } from './env.js';
import { SignedOut, WebError } from './errors.js';

export interface ApiResult<T> {
  status: number;
  ok: boolean;
  data: T;
  /** The API's `{ error }` message when not ok. */
  error: string | null;
}

export interface ApiCaller {
  /** One request to the REST API on the same Hono app, as the signed-in user; the raw Response. */
  fetch(c: Context<WebEnv>, method: string, path: string, body?: unknown): Promise<Response>;
  /** JSON in and out; 401 with a session means it ended (SignedOut). Other failures are returned. */
  send<T = unknown>(c: Context<WebEnv>, method: string, path: string, body?: unknown): Promise<ApiResult<T>>;
  /** A GET that must succeed: otherwise a WebError with the API's status and message (404 stays 404). */
  get<T>(c: Context<WebEnv>, path: string): Promise<T>;
}

/**
 * The API's throttles key sign-ups and failed logins on the client address (api/limits.ts):
 * pass the socket (Node bindings in c.env) and the proxy headers through, so in-process calls
 * are counted per client, not as one "unknown" client.
 */
const FORWARDED = ['x-forwarded-for', 'fly-client-ip', 'user-agent'];

const WEB_STATUSES = new Set([400, 403, 404, 409, 410, 413, 429, 502, 503]);

/** The dashboard's only way to read or change data: the REST API, in-process (no second copy of its rules). */
export function apiCaller(app: Hono): ApiCaller {
  const fetch: ApiCaller['fetch'] = (c, method, path, body) => {
    const headers = new Headers();
    for (const name of FORWARDED) {
      const value = c.req.header(name);
      if (value) headers.set(name, value);
    }
    const token = c.get('token');
    if (token) headers.set('authorization', `Bearer ${token}`);
    if (body !== undefined) headers.set('content-type', 'application/json');
    return Promise.resolve(app.request(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }, c.env));
  };

  const send: ApiCaller['send'] = async <T>(c: Context<WebEnv>, method: string, path: string, body?: unknown) => {
    const res = await fetch(c, method, path, body);
    const text = await res.text();
    let data: unknown = null;
    try {
      data = text ? JSON.parse(text) : null;
    } catch {
      data = text;
    }
    if (res.status === 401 && c.get('token')) throw new SignedOut();
    const error = res.ok ? null : data && typeof data === 'object' && 'error' in data ? String(data.error) : `HTTP ${res.status}`;
    return { status: res.status, ok: res.ok, data: data as T, error };
  };

  const get: ApiCaller['get'] = async <T>(c: Context<WebEnv>, path: string) => {
    const res = await send<T>(c, 'GET', path);
    if (!res.ok) throw failure(res);
    return res.data;
  };

  return { fetch, send, get };
}

/** Raises an API failure the page does not handle itself (anything but a field error). */
export function failure(res: ApiResult<unknown>): WebError {
  return new WebError(WEB_STATUSES.has(res.status) ? (res.status as WebError['status']) : 500, res.error ?? 'request failed');
}
