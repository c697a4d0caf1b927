import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Hono } from 'hono';
import type { WebEnv } from './env.js';

const load = (name: string, type: string) => {
  const body = readFileSync(new URL(`./assets/${name}`, import.meta.url));
  const version = createHash('sha256').update(body).digest('hex').slice(0, 12);
  return { name, type, body, href: `/static/${name}?v=${version}` };
};

const files = [
  load('app.css', 'text/css; charset=utf-8'),
  load('app.js', 'text/javascript; charset=utf-8'),
  load('icon.svg', 'image/svg+xml'),
];

/** Versioned hrefs: a changed file gets a new URL, so the long cache below is safe. */
export const assetHref = Object.fromEntries(files.map((f) => [f.name, f.href])) as Record<'app.css' | 'app.js' | 'icon.svg', string>;

/** GET /static/*: the stylesheet, the small script and the icon, cached for a year. */
export function assetRoutes() {
  const r = new Hono<WebEnv>();
  for (const f of files) {
    r.get(`/static/${f.name}`, (c) => {
      c.header('Content-Type', f.type);
      c.header('Cache-Control', 'public, max-age=31536000, immutable');
      return c.body(new Uint8Array(f.body));
    });
  }
  return r;
}
