import type { Hono } from 'hono';
import { createApp, type AppOptions } from '../../src/api/app.js';
import { testDeps, type TestDeps } from './deps.js';

export interface Res {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  text: string;
  headers: Headers;
}

export interface TestApi {
  app: Hono;
  deps: TestDeps;
  /** One request through app.request() (no port); JSON in, JSON (or text) out. */
  call(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<Res>;
}

/** A fresh app on fresh deps. */
export function testApi(env: Record<string, string> = {}, opts: { now?: () => number; app?: AppOptions } = {}): TestApi {
  const deps = testDeps(env, { now: opts.now });
  const app = createApp(deps, opts.app);
  return {
    app,
    deps,
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...o.headers };
      if (o.token) headers.authorization = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await app.request(path, { method, headers, body });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, text, headers: res.headers };
    },
  };
}

let n = 0;
export const uniqueEmail = () => `user${++n}-${Math.random().toString(36).slice(2, 8)}@example.org`;

/** Signs a new user up; returns the session token and user. */
export async function signup(api: TestApi, email = uniqueEmail(), password = 'correct horse battery') {
  const res = await api.call('POST', '/api/auth/signup', { body: { email, password } });
  if (res.status !== 201) throw new Error(`signup failed: ${res.status} ${res.text}`);
  return { token: res.body.token as string, user: res.body.user as { id: string; email: string }, email, password };
}

/** Adds a domain over the API; returns its JSON. */
export async function addDomain(api: TestApi, token: string, name = 'example.com') {
  const res = await api.call('POST', '/api/domains', { token, body: { name } });
  if (res.status !== 201) throw new Error(`add domain failed: ${res.status} ${res.text}`);
  return res.body as { id: string; name: string; records: { type: string; name: string; value: string }[] };
}

/** Marks a domain verified straight in the database (verification itself is tested with real DNS). */
export async function markVerified(api: TestApi, domainId: string): Promise<void> {
  await api.deps.repos.domains.setStatus(domainId, 'verified', api.deps.now(), null);
}

/** Creates an API key with a session token; returns the mhk_ secret and the key JSON. */
export async function createKey(api: TestApi, token: string, scopes: string[], domainId?: string) {
  const res = await api.call('POST', '/api/keys', { token, body: { name: 'test key', scopes, domain_id: domainId } });
  if (res.status !== 201) throw new Error(`create key failed: ${res.status} ${res.text}`);
  return { secret: res.body.key as string, key: res.body };
}
