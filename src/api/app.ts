import { Hono, type Context, type MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { HTTPException } from 'hono/http-exception';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { apiRoutes } from './api.js';
import { attachmentRoutes } from './attachments.js';
import { healthRoutes } from './health.js';
import { metricsRoutes } from './metrics.js';
import { oauthRoutes } from '../oauth/routes.js';
import { lazyWebRoutes } from '../web/lazy.js';

export interface AppOptions {
  /** Wakes the delivery worker after a manual retry (main.ts passes the worker's kick). */
  kickDeliveries?: () => void;
  /** Wakes the outbound (sending) worker after POST /v1/send committed a send. */
  kickSends?: () => void;
}

/** 1 MiB: every API body is a small JSON document. The dry run may carry a whole message. */
const MAX_BODY = 1024 * 1024;

/**
 * 413 past `max` bytes. A declared Content-Length is checked without touching the body, and a
 * request served by node-server with neither Content-Length nor Transfer-Encoding has no body
 * (RFC 9112 §6.3): hono's bodyLimit reads `c.req.raw.body` even then, which makes node-server
 * build a full web Request (undici) with an AbortController and a stream for every request, and
 * read the body through web streams instead of its direct path (about a tenth of the event loop
 * in the send benchmark). Only a chunked body (or an in-process Request without a length) goes
 * through bodyLimit, which counts the bytes as they come.
 */
const tooLarge = (max: number): MiddlewareHandler => {
  const onError = (): never => {
    throw new HttpError(413, `request body larger than ${max} bytes`);
  };
  const counted = bodyLimit({ maxSize: max, onError });
  return async (c, next) => {
    if (c.req.header('transfer-encoding') === undefined) {
      const declared = c.req.header('content-length');
      if (declared !== undefined) return Number.parseInt(declared, 10) > max ? onError() : next();
      if ((c.env as { incoming?: unknown } | undefined)?.incoming) return next();
    }
    return counted(c, next);
  };
};

/** The HTTP app: API, attachment links. One error handler maps every failure to `{ error }`. */
export function createApp(deps: Deps, opts: AppOptions = {}): Hono {
  const app = new Hono();
  app.onError((err, c) => {
    if (err instanceof HttpError) {
      for (const [k, v] of Object.entries(err.headers)) c.header(k, v);
      return c.json({ error: err.message }, err.status);
    }
    // Hono's own: malformed JSON (400), unsupported content type (415). The 415 says what to send:
    // `curl -d '{…}'` without -H posts application/x-www-form-urlencoded.
    if (err instanceof HTTPException && err.status === 415) {
      const got = c.req.header('content-type');
      return c.json({ error: `the body must be JSON with content-type: application/json (got ${got ? `"${got.split(';')[0]!.trim()}"` : 'no content-type'})` }, 415);
    }
    if (err instanceof HTTPException && err.status < 500) return c.json({ error: err.message || 'bad request' }, err.status);
    deps.log.error('unhandled API error', { err, path: c.req.path });
    return c.json({ error: 'internal error' }, 500);
  });
  const notFound = (c: Context) => c.json({ error: 'not found' }, 404);
  app.notFound(notFound);
  const small = tooLarge(MAX_BODY);
  // The dry run bounds its own body as it reads it (MAX_DRY_RUN_BODY, src/api/dry-run-body.ts),
  // after the account's slot: a refused one is never touched (not even wrapped in a stream).
  app.use('/api/*', (c, next) => (c.req.path === '/api/routes/test' ? next() : small(c, next)));
  // A send carries its attachments as base64 (4/3 of MAX_MESSAGE_BYTES) plus the JSON around them.
  app.use('/v1/*', tooLarge(Math.ceil((deps.config.maxMessageBytes * 4) / 3) + MAX_BODY));
  app.route('/', healthRoutes(deps));
  app.route('/', metricsRoutes(deps));
  app.route('/', attachmentRoutes(deps));
  app.route('/', apiRoutes(deps, opts.kickDeliveries ?? (() => {}), opts.kickSends));
  // The OAuth token, revocation and metadata endpoints (RFC 6749 errors); /oauth/authorize is a page.
  app.route('/', oauthRoutes(deps));
  // The dashboard: pages at `/` that call the routes above in-process (src/web), loaded with the first page request.
  app.route('/', lazyWebRoutes(deps, app, notFound));
  return app;
}
