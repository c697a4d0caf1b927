import { Hono } from 'hono';
import type { Deps } from '../deps.js';

export function healthRoutes(deps: Deps): Hono {
  const app = new Hono();
  app.get('/api/health', async (c) => {
    const checks = { db: false, blobs: false };
    try {
      await deps.repos.ping();
      checks.db = true;
    } catch (err) {
      deps.log.error('health: database', { err });
    }
    try {
      await deps.blobs.check();
      checks.blobs = true;
    } catch (err) {
      deps.log.error('health: blob store', { err });
    }
    const ok = checks.db && checks.blobs;
    return c.json({ ok, engine: deps.repos.engine, checks }, ok ? 200 : 503);
  });
  return app;
}
