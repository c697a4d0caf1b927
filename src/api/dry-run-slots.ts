import type { MiddlewareHandler } from 'hono';
import type { ApiEnv } from './openapi.js';
import { HttpError } from '../errors.js';
import { tooMany } from './limits.js';

/**
 * Dry runs one account may have in flight at once (DESIGN §1 invariant 5). Each takes a body of up
 * to 10 MiB, held in memory until a parse thread has decoded it (dry-run-body.ts), and a turn of
 * the parse threads: one account's loop of them waits for its own. Checked before the body is
 * read, which a refused one never is.
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
