import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { attachmentRoutes } from './attachments.js';
import { healthRoutes } from './health.js';

/** The HTTP app: API, attachment links. One error handler maps every failure to `{ error }`. */
export function createApp(deps: Deps): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json({ error: err.message }, err.status);
    }
    deps.log.error('unhandled API error', { err, path: c.req.path });
    return c.json({ error: 'internal error' }, 500);
  });
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  app.route('/', healthRoutes(deps));
  app.route('/', attachmentRoutes(deps));
  return app;
}
