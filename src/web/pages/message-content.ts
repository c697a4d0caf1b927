import { Hono } from 'hono';
import type { Web, WebEnv } from '../env.js';
import type { MessageJson } from '../types.js';

/**
 * The policy of the email's own document: its inline styles and data: images, nothing else —
 * no script, no remote image, font or stylesheet (tracking pixels stay dark), no form posts.
 * `sandbox` here too, so opening the URL directly is as safe as the iframe.
 */
export const MAIL_CSP =
  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox";

/** Links open in a new tab (the frame cannot navigate the dashboard); the charset is ours. */
const HEAD = '<!doctype html><meta charset="utf-8"><base target="_blank">';

/** GET /messages/:id/html (the iframe's document) and /messages/:id/raw (the .eml, from the API). */
export function messageContentPages({ api }: Web) {
  const r = new Hono<WebEnv>();

  r.get('/messages/:id/html', async (c) => {
    const m = await api.get<MessageJson>(c, `/api/messages/${encodeURIComponent(c.req.param('id'))}`);
    c.header('Content-Security-Policy', MAIL_CSP);
    c.header('X-Frame-Options', 'SAMEORIGIN');
    c.header('Referrer-Policy', 'no-referrer');
    // Its origin is opaque (sandbox): asking for an origin-keyed cluster only earns a console warning.
    c.header('Origin-Agent-Cluster', '?0');
    return c.html(HEAD + m.html);
  });

  r.get('/messages/:id/raw', async (c) => {
    const res = await api.fetch(c, 'GET', `/api/messages/${encodeURIComponent(c.req.param('id'))}/raw`);
    if (!res.ok) {
      await res.body?.cancel();
      // The same page a missing message gets: the API's 404 or 410 through the dashboard's handler.
      await api.get(c, `/api/messages/${encodeURIComponent(c.req.param('id'))}`);
      return c.text('The raw message is no longer stored.', 410);
    }
    const headers = new Headers();
    for (const h of ['content-type', 'content-disposition', 'x-content-type-options']) {
      const v = res.headers.get(h);
      if (v) headers.set(h, v);
    }
    return new Response(res.body, { status: 200, headers });
  });
  return r;
}
