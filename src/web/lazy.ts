import { Hono, type Context } from 'hono';
import type { Deps } from '../deps.js';
import type { WebEnv } from './env.js';
import { isPage } from './paths.js';

/**
 * The dashboard, loaded with the first page request instead of at start (issue 19: its pages,
 * components and middleware are ~8 MB of an idle server's RSS, and an MX host that nobody browses
 * never needs them). Paths that are not pages (the API, Fly's health check at /api/health,
 * attachment links, OAuth's endpoints) never load it. A page is answered by the dashboard's own
 * app, with its own error page; what it does not match gets `notFound`, as when it was mounted
 * with `app.route`. If it cannot be loaded, that request fails with the reason (500, logged by
 * the app's onError) and the next page request tries again.
 */
export function lazyWebRoutes(deps: Deps, app: Hono, notFound: (c: Context) => Response): Hono {
  let web: Promise<Hono<WebEnv>> | undefined;
  const load = () =>
    (web ??= import('./web.js').then(
      (m) => m.webRoutes(deps, app).notFound(notFound),
      (err: Error) => {
        web = undefined;
        throw new Error(`cannot load the dashboard: ${err.message}`, { cause: err });
      },
    ));
  const lazy = new Hono();
  lazy.all('*', async (c, next) => (isPage(c.req.path) ? (await load()).fetch(c.req.raw, c.env) : next()));
  return lazy;
}
