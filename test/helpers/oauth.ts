import { createHash, randomBytes } from 'node:crypto';
import type { TestApi } from './api.js';
import type { Browserish, WebRes } from '../web/web-client.js';

export interface TestApp {
  id: string;
  clientId: string;
  secret: string | null;
  redirectUri: string;
}

/** Registers an app over the API with a session token. */
export async function registerApp(api: TestApi, token: string, opts: { redirectUri?: string; confidential?: boolean; name?: string } = {}): Promise<TestApp> {
  const redirectUri = opts.redirectUri ?? 'https://app.example/callback';
  const res = await api.call('POST', '/api/apps', { token, body: { name: opts.name ?? 'Acme Helpdesk', redirect_uris: [redirectUri], confidential: opts.confidential ?? true } });
  if (res.status !== 201) throw new Error(`register app: ${res.status} ${res.text}`);
  return { id: res.body.id, clientId: res.body.client_id, secret: res.body.client_secret ?? null, redirectUri };
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export function authorizeQuery(app: TestApp, challenge: string, extra: Record<string, string | null> = {}): string {
  const q = new URLSearchParams();
  const fields: Record<string, string | null> = {
    response_type: 'code',
    client_id: app.clientId,
    redirect_uri: app.redirectUri,
    scope: 'messages:read',
    state: 'st-' + randomBytes(6).toString('hex'),
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(fields)) if (v !== null) q.set(k, v);
  return q.toString();
}

/** The consent form's fields, as the page rendered them. */
export function consentFields(html: string): Record<string, string> {
  const out: Record<string, string> = {};
  const form = /<form method="post" action="\/oauth\/authorize"[\s\S]*?<\/form>/.exec(html)?.[0] ?? '';
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) {
    out[m[1]!] = m[2]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  }
  return out;
}

/** Opens the consent page and posts a decision with the page's own form fields. */
export async function decide(b: Browserish, query: string, decision: 'approve' | 'deny'): Promise<WebRes> {
  const page = await b.get(`/oauth/authorize?${query}`);
  if (page.status !== 200) throw new Error(`consent page: ${page.status} ${page.location ?? page.text.slice(0, 300)}`);
  const { _csrf, ...fields } = consentFields(page.text);
  return b.post('/oauth/authorize', { ...fields, decision }, { csrf: _csrf });
}

/** Approves and returns the code from the redirect. */
export async function approveCode(b: Browserish, app: TestApp, challenge: string, extra: Record<string, string | null> = {}): Promise<string> {
  const res = await decide(b, authorizeQuery(app, challenge, extra), 'approve');
  if (res.status !== 303 || !res.location) throw new Error(`approve: ${res.status} ${res.text.slice(0, 300)}`);
  const code = new URL(res.location).searchParams.get('code');
  if (!code) throw new Error(`no code in ${res.location}`);
  return code;
}

export interface TokenRes {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

/** A form post to /oauth/token or /oauth/revoke; `basic` sends the client's credentials in the header. */
export async function oauthPost(api: TestApi, path: string, fields: Record<string, string>, basic?: [string, string]): Promise<TokenRes> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${encodeURIComponent(basic[0])}:${encodeURIComponent(basic[1])}`).toString('base64')}`;
  const res = await api.app.request(path, { method: 'POST', headers, body: new URLSearchParams(fields) });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null, headers: res.headers };
}

/** Client credentials for a confidential app (Basic) or none for a public one (client_id in the body). */
export const clientAuth = (app: TestApp): { basic?: [string, string]; fields: Record<string, string> } =>
  app.secret ? { basic: [app.clientId, app.secret], fields: {} } : { fields: { client_id: app.clientId } };

/** Exchanges a code; returns the raw token response. */
export function exchange(api: TestApi, app: TestApp, code: string, verifier: string, extra: Record<string, string> = {}) {
  const auth = clientAuth(app);
  return oauthPost(api, '/oauth/token', { grant_type: 'authorization_code', code, redirect_uri: app.redirectUri, code_verifier: verifier, ...auth.fields, ...extra }, auth.basic);
}

export function refreshWith(api: TestApi, app: TestApp, refreshToken: string, extra: Record<string, string> = {}) {
  const auth = clientAuth(app);
  return oauthPost(api, '/oauth/token', { grant_type: 'refresh_token', refresh_token: refreshToken, ...auth.fields, ...extra }, auth.basic);
}

/** Registers, approves and exchanges: a live token pair. */
export async function connect(api: TestApi, owner: string, b: Browserish, opts: { scope?: string; confidential?: boolean } = {}) {
  const app = await registerApp(api, owner, { confidential: opts.confidential });
  const { verifier, challenge } = pkce();
  const code = await approveCode(b, app, challenge, { scope: opts.scope ?? 'messages:read' });
  const res = await exchange(api, app, code, verifier);
  if (res.status !== 200) throw new Error(`exchange: ${res.status} ${JSON.stringify(res.body)}`);
  return { app, tokens: res.body as { access_token: string; refresh_token: string; scope: string; expires_in: number } };
}
