import type { Context } from 'hono';
import { html } from 'hono/html';
import type { Child } from 'hono/jsx';
import type { WebEnv } from '../env.js';
import { Layout, type Section } from './layout.js';

type Status = 200 | 201 | 400 | 403 | 404 | 409 | 410 | 413 | 429 | 500 | 502 | 503;

/** A whole page in the shell, for the signed-in user (or none). */
export function render(c: Context<WebEnv>, title: string, body: Child, opts: { section?: Section; status?: Status } = {}) {
  const page = (
    <Layout
      title={title}
      nonce={c.get('secureHeadersNonce') ?? ''}
      email={c.get('user')?.email ?? null}
      csrf={c.get('csrf') ?? ''}
      section={opts.section}
    >
      {body}
    </Layout>
  );
  return c.html(html`<!doctype html>${page}`, opts.status ?? 200);
}

/** A form page's status: 200, or that of the API's refusal it shows beside the form (absent: 200). */
export const formStatus = (status?: number): Status => (status && status !== 200 ? pageStatus(status) : 200);

/** Statuses a page may answer with (the API's own, passed through to the browser). */
export const pageStatus = (status: number): Status =>
  ([400, 403, 404, 409, 410, 413, 429, 502, 503] as const).find((s) => s === status) ?? (status >= 500 ? 500 : 400);
