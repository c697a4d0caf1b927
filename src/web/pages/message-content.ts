import { Hono } from 'hono';
import type { Web, WebEnv } from '../env.js';
import type { MessageJson } from '../types.js';

/**
 * The policy of the email's own document: its inline styles, data: images and its own inline
 * (`cid:`) images through their signed attachment links, nothing else — no script, no remote
 * image, font or stylesheet (tracking pixels stay dark), no form posts. `sandbox` here too, so
 * opening the URL directly is as safe as the iframe. `publicUrl` is PUBLIC_URL, which the links
 * start with: the sandboxed document's own origin is opaque, so 'self' would not name it.
 */
export function mailCsp(publicUrl: string): string {
  return `default-src 'none'; style-src 'unsafe-inline'; img-src data: ${publicUrl}/att/; font-src data:; form-action 'none'; base-uri 'none'; frame-ancestors 'self'; sandbox allow-popups allow-popups-to-escape-sandbox`;
}

const escapeAttr = (s: string) => s.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/'/g, '&#39;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** `cid:` ids compare without their angle brackets, case-insensitively; the URL form is %-encoded (RFC 2392). */
function cidKey(id: string): string {
  let v = id;
  try {
    v = decodeURIComponent(id);
  } catch {
    // Not %-encoded after all: compare as written.
  }
  return v.replace(/^<|>$/g, '').trim().toLowerCase();
}

/**
 * Points `src="cid:…"` (and `background=`) at the signed link of the attachment with that
 * Content-ID, so inline images show without a session (the frame's requests carry no cookie).
 * Unknown ids and removed attachments stay as they are: a broken image, nothing fetched.
 */
export function inlineCidImages(html: string, attachments: MessageJson['attachments']): string {
  const links = new Map<string, string>();
  for (const a of attachments) if (a.content_id && a.url) links.set(cidKey(a.content_id), a.url);
  if (links.size === 0) return html;
  return html.replace(/\b(src|background)(\s*=\s*)(["']?)cid:([^"'\s>]+)\3/gi, (whole, attr: string, eq: string, _q: string, id: string) => {
    const url = links.get(cidKey(id));
    return url ? `${attr}${eq}"${escapeAttr(url)}"` : whole;
  });
}

/** Links open in a new tab (the frame cannot navigate the dashboard); the charset is ours. */
const HEAD = '<!doctype html><meta charset="utf-8"><base target="_blank">';

/** GET /messages/:id/html (the iframe's document) and /messages/:id/raw (the .eml, from the API). */
export function messageContentPages({ api, deps }: Web) {
  const r = new Hono<WebEnv>();

  r.get('/messages/:id/html', async (c) => {
    const m = await api.get<MessageJson>(c, `/api/messages/${encodeURIComponent(c.req.param('id'))}`);
    c.header('Content-Security-Policy', mailCsp(deps.config.publicUrl));
    c.header('X-Frame-Options', 'SAMEORIGIN');
    c.header('Referrer-Policy', 'no-referrer');
    // Its origin is opaque (sandbox): asking for an origin-keyed cluster only earns a console warning.
    c.header('Origin-Agent-Cluster', '?0');
    return c.html(HEAD + inlineCidImages(m.html, m.attachments));
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
