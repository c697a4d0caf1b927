import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from './openapi.js';
import { tooMany } from './limits.js';

/**
 * Dry runs one account may have in flight at once (DESIGN §1 invariant 5). Each takes a body of up
 * to 10 MiB that the event loop reads, decodes and JSON-parses before the parse thread gets it:
 * forty 8 MB ones at once held /api/health 2.5 s even with parsing off the main thread
 * (bench/README.md, stall). Checked before the body is read, so a refused one costs almost nothing.
 */
export const DRY_RUNS_PER_ACCOUNT = 2;

const inFlight = new Map<string, number>();

export const dryRunSlot: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const user = c.get('auth').user.id;
  const n = inFlight.get(user) ?? 0;
  if (n >= DRY_RUNS_PER_ACCOUNT) throw tooMany(1, 'dry runs in progress for this account');
  inFlight.set(user, n + 1);
  try {
    await next();
  } finally {
    const left = (inFlight.get(user) ?? 1) - 1;
    if (left > 0) inFlight.set(user, left);
    else inFlight.delete(user);
  }
};
