import { isIP } from 'node:net';
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';
import { SlidingWindow } from '../auth/throttle.js';
import type { TrustProxy } from '../config.js';
import type { Deps } from '../deps.js';
import { HttpError } from '../errors.js';
import type { ThrottleRule } from '../db/throttles.js';
import { isProxyAddress } from '../net/ip-class.js';

const MINUTE = 60_000;

/** A throttle kept by the repository: in memory on SQLite, in the database (shared by every node) on PostgreSQL. */
function sharedThrottle(deps: Deps, rule: ThrottleRule) {
  const t = deps.repos.throttles;
  return {
    retryAfter: (key: string) => t.retryAfter(rule, key, deps.now()),
    record: (key: string) => t.record(rule, key, deps.now()),
    take: (key: string) => t.take(rule, key, deps.now()),
    unrecord: (key: string) => t.unrecord(rule, key),
    reset: (key: string) => t.reset(rule, key),
  };
}

/** Every limit of the API, one set per app. Numbers are in README. */
export function createLimits(deps: Deps) {
  const now = deps.now;
  return {
    /** Any authenticated call, per session or API key: per node (several nodes: N × this). */
    perCredential: new SlidingWindow({ limit: 600, windowMs: MINUTE, now }),
    // The sign-in and sign-up throttles guard against guessing: shared by every node (DESIGN §10).
    /** Failed logins per account: a targeted guess at one password. */
    loginPerAccount: sharedThrottle(deps, { name: 'login-account', limit: 10, windowMs: 15 * MINUTE }),
    /** Failed logins per client address: spraying one password over many accounts. */
    loginPerIp: sharedThrottle(deps, { name: 'login-ip', limit: 50, windowMs: 15 * MINUTE }),
    /** Sign-ups per client address: each one costs a scrypt and a row. */
    signupPerIp: sharedThrottle(deps, { name: 'signup-ip', limit: 100, windowMs: 60 * MINUTE }),
  };
}

export type Limits = ReturnType<typeof createLimits>;

export function tooMany(retryAfterSec: number, what: string): HttpError {
  return new HttpError(429, `too many ${what}; retry in ${retryAfterSec} s`, { 'Retry-After': String(retryAfterSec) });
}

/**
 * The client's address for the throttles. The socket's, unless TRUST_PROXY names a proxy in front
 * of us and the socket is that proxy (loopback, private, CGNAT, link-local, unique local, in any
 * spelling, IPv4-mapped included: isProxyAddress), or there is no socket (an in-process call).
 * - fly: `Fly-Client-IP`, which Fly's proxy sets and overwrites.
 * - x-forwarded-for: the right-most hop that is not one of our proxies. Each proxy appends the
 *   address it saw, so everything left of that hop was written by the client and proves nothing.
 * Without TRUST_PROXY no header counts: behind nginx or Caddy on the same host, a client could
 * otherwise set any header and get a fresh throttle with every request.
 */
export function clientIp(c: Context, trust: TrustProxy): string {
  let peer: string | undefined;
  try {
    peer = getConnInfo(c).remote.address;
  } catch {
    peer = undefined; // app.request() in tests and the CLI: no socket
  }
  if (trust === 'none' || (peer && !isProxyAddress(peer))) return peer || 'unknown';
  if (trust === 'fly') {
    const fly = c.req.header('fly-client-ip')?.trim();
    return fly && isIP(fly) ? fly : peer || 'unknown';
  }
  const hops = (c.req.header('x-forwarded-for') ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i]!;
    if (!isIP(hop) || !isProxyAddress(hop)) return hop;
  }
  // Every hop is one of ours: the client is on our own network; the farthest hop is the closest guess.
  return hops[0] ?? peer ?? 'unknown';
}
