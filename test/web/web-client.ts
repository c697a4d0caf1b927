import { testApi, uniqueEmail, type TestApi } from '../helpers/api.js';

/** app.request() sees http://localhost; a browser on the dashboard sends this Origin. */
export const ORIGIN = 'http://localhost';
export const PASSWORD = 'correct horse battery';

export interface WebRes {
  status: number;
  text: string;
  headers: Headers;
  location: string | null;
}

export interface Browserish {
  /** "mh_session=…", as the browser would send it back. */
  cookie: string;
  /** The session token inside the cookie, for API calls in assertions. */
  token: string;
  email: string;
  get(path: string, headers?: Record<string, string>): Promise<WebRes>;
  /** A form post with the session cookie; `_csrf` and Origin are added unless given as null. */
  post(path: string, fields: Record<string, string | string[]>, opts?: { csrf?: string | null; origin?: string | null }): Promise<WebRes>;
  /** This session's CSRF token, read from a rendered form. */
  csrf(): Promise<string>;
}

async function request(api: TestApi, path: string, init: RequestInit): Promise<WebRes> {
  const res = await api.app.request(path, init);
  return { status: res.status, text: await res.text(), headers: res.headers, location: res.headers.get('location') };
}

export function formBody(fields: Record<string, string | string[]>): URLSearchParams {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(fields)) for (const one of Array.isArray(v) ? v : [v]) body.append(k, one);
  return body;
}

/** A GET without any session. */
export const anonymousGet = (api: TestApi, path: string) => request(api, path, {});

/** Posts a form without any session, as a signed-out browser would. */
export const anonymousPost = (api: TestApi, path: string, fields: Record<string, string>, headers: Record<string, string> = { origin: ORIGIN }) =>
  request(api, path, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: formBody(fields) });

/** Signs up through the /signup form and keeps the cookie, like a browser. */
export async function signUpInBrowser(api: TestApi, email = uniqueEmail()): Promise<Browserish> {
  const res = await anonymousPost(api, '/signup', { email, password: PASSWORD });
  if (res.status !== 303) throw new Error(`signup form: ${res.status} ${res.text.slice(0, 200)}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0]!;
  const b: Browserish = {
    cookie,
    token: cookie.slice('mh_session='.length),
    email,
    get: (path, headers = {}) => request(api, path, { headers: { cookie, ...headers } }),
    async post(path, fields, opts = {}) {
      const csrf = opts.csrf === undefined ? await b.csrf() : opts.csrf;
      const origin = opts.origin === undefined ? ORIGIN : opts.origin;
      const headers: Record<string, string> = { cookie, 'content-type': 'application/x-www-form-urlencoded' };
      if (origin !== null) headers.origin = origin;
      return request(api, path, { method: 'POST', headers, body: formBody(csrf === null ? fields : { ...fields, _csrf: csrf }) });
    },
    async csrf() {
      const page = await b.get('/domains');
      const m = /name="_csrf" value="([^"]+)"/.exec(page.text);
      if (!m) throw new Error('no _csrf field on /domains');
      return m[1]!;
    },
  };
  return b;
}

export { testApi, type TestApi };

/** The text of the element with this id (first match), tags stripped; null when absent. */
export function textOf(html: string, id: string): string | null {
  const m = new RegExp(`id="${id}"[^>]*>([\\s\\S]*?)</`).exec(html);
  return m ? m[1]!.replace(/<[^>]+>/g, '').trim() : null;
}

/** What hono/jsx escapes in text, so an API message can be found in a page. */
export const escapeHtml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
