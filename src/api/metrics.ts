import { getConnInfo } from '@hono/node-server/conninfo';
import { Hono } from 'hono';
import type { Deps } from '../deps.js';
import { metricsAllowed } from '../ops/metrics-access.js';
import { opsSnapshots } from '../ops/snapshot.js';

/**
 * GET /metrics in Prometheus text format. Anyone else gets the app's ordinary 404, so the
 * endpoint's existence is not advertised.
 */
export function metricsRoutes(deps: Deps, opts: { privateListener?: boolean } = {}): Hono {
  const app = new Hono();
  const snapshot = opsSnapshots(deps);
  app.get('/metrics', async (c) => {
    let peer: string | undefined;
    try {
      peer = getConnInfo(c).remote.address;
    } catch {
      peer = undefined; // app.request(): no socket, so not loopback
    }
    const allowed = metricsAllowed({
      peer,
      authorization: c.req.header('authorization'),
      token: deps.config.metricsToken,
      privateListener: opts.privateListener ?? false,
    });
    if (!allowed) return c.json({ error: 'not found' }, 404);
    const body = await deps.metrics.render(await snapshot());
    return c.body(body, 200, { 'content-type': deps.metrics.registry.contentType, 'cache-control': 'no-store' });
  });
  return app;
}

/** The METRICS_PORT listener's app: /metrics alone, where private-network peers need no token. */
export function metricsOnlyApp(deps: Deps): Hono {
  const app = new Hono();
  app.route('/', metricsRoutes(deps, { privateListener: true }));
  app.notFound((c) => c.json({ error: 'not found' }, 404));
  return app;
}
