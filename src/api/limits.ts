import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { SlidingWindow } from '../auth/throttle.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import { isForbiddenAddress } from '../net/ip-class.js';

const MINUTE = 60_000;

/** Every in-memory limit of the API, one set per app. Numbers are in README. */
export function createLimits(deps: Deps) {
  const now = deps.now;
  return {
    /** Any authenticated call, per session or API key. */
    perCredential: new SlidingWindow({ limit: 600, windowMs: MINUTE, now }),
    /** Failed logins per account: a targeted guess at one password. */
    loginPerAccount: new SlidingWindow({ limit: 10, windowMs: 15 * MINUTE, now }),
    /** Failed logins per client address: spraying one password over many accounts. */
    loginPerIp: new SlidingWindow({ limit: 50, windowMs: 15 * MINUTE, now }),
    /** Sign-ups per client address: each one costs a scrypt and a row. */
    signupPerIp: new SlidingWindow({ limit: 100, windowMs: 60 * MINUTE, now }),
  };
}

export type Limits = ReturnType<typeof createLimits>;

export function tooMany(retryAfterSec: number, what: string): HttpError {
  return new HttpError(429, `too many ${what}; retry in ${retryAfterSec} s`, { 'Retry-After': String(retryAfterSec) });
}

/**
 * The client's address for throttling. The socket's, unless the socket is not a public address
 * (loopback, private, link-local, unique local, in any spelling, IPv4-mapped included): then it
 * is a proxy in front of us (Fly's, a Docker bridge) and the address that proxy reports counts.
 * Forwarded headers from a public peer are the client's own words and are ignored.
 */
export function clientIp(c: Context): string {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    peer = undefined; // app.request() in tests: no socket
  }
  if (peer && !isForbiddenAddress(peer)) return peer;
  const fly = c.req.header('fly-client-ip')?.trim();
  if (fly) return fly;
  const forwarded = c.req.header('x-forwarded-for')?.split(',').pop()?.trim();
  return forwarded || peer || 'unknown';
}
