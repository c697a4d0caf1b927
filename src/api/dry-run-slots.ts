import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from './openapi.js';
import { HttpError } from '../errors.js';
import { tooMany } from './limits.js';

/**
 * Dry runs one account may have in flight at once (DESIGN §1 invariant 5). Each takes a body of up
 * to 10 MiB that the event loop reads, decodes and JSON-parses before the parse thread gets it:
 * forty 8 MB ones at once held /api/health 2.5 s even with parsing off the main thread
 * (bench/README.md, stall). Checked before the body is read, which a refused one never is.
 */
export const DRY_RUNS_PER_ACCOUNT = 2;

const inFlight = new Map<string, number>();

export const dryRunSlot: MiddlewareHandler<ApiEnv> = async (c, next) => {
  const user = c.get('auth').user.id;
  const n = inFlight.get(user) ?? 0;
  if (n >= DRY_RUNS_PER_ACCOUNT) {
    // And hang up: otherwise Node reads the rest of the refused body (up to 10 MiB) on the event
    // loop to keep the connection alive. Forty looping 8 MB dry runs were ~340 MB/s of it (issue 14).
    const refused = tooMany(1, 'dry runs in progress for this account');
    throw new HttpError(refused.status, refused.message, { ...refused.headers, Connection: 'close' });
  }
  inFlight.set(user, n + 1);
  try {
    await next();
  } finally {
    const left = (inFlight.get(user) ?? 1) - 1;
    if (left > 0) inFlight.set(user, left);
    else inFlight.delete(user);
  }
};
