import type { Deps } from '../deps.js';
import { cheapToCheck } from '../parse/auth-cost.js';
import { authOffThread } from '../parse/auth-pool.js';
import { computeAuth, createAuthResolver } from '../parse/auth.js';
import type { Envelope } from '../parse/types.js';
import { PARSE_OFF_THREAD_BYTES, type AuthCheck } from './accept.js';

const DNS_TIMEOUT_MS = 2000;
/** Bounded: a sender's slow DNS may delay its own 250 by this much, never more. */
const AUTH_TIMEOUT_MS = 5000;

/**
 * SPF/DKIM/DMARC/ARC for each message, or undefined when AUTH_CHECKS=false: ordinary mail on the
 * event loop; a message parsed on a parse thread (over PARSE_OFF_THREAD_BYTES) on that thread,
 * on the same read of it (`onParseThread`); anything else whose checks could hold the loop (many
 * headers or signatures) on the auth thread (src/parse/auth-cost.ts says which,
 * src/parse/auth-pool.ts runs them).
 */
export function authCheck(deps: Deps): AuthCheck | undefined {
  if (!deps.config.authChecks) return undefined;
  const resolver = createAuthResolver(deps.config.dnsServers, DNS_TIMEOUT_MS, { cacheSeconds: deps.config.dnsCacheSeconds });
  const mta = deps.config.mxHost;
  const opts = { servers: deps.config.dnsServers, dnsTimeoutMs: DNS_TIMEOUT_MS, dnsCacheSeconds: deps.config.dnsCacheSeconds, mta, timeoutMs: AUTH_TIMEOUT_MS };
  const envOf = (envelope: Envelope) => ({ remoteIp: envelope.remoteIp, helo: envelope.helo, mailFrom: envelope.mailFrom });
  const check: AuthCheck = (raw, envelope) => {
    const env = envOf(envelope);
    if (raw.buffer && !raw.path && cheapToCheck(raw.buffer, PARSE_OFF_THREAD_BYTES)) {
      return computeAuth(raw.buffer, env, { resolver, mta, timeoutMs: AUTH_TIMEOUT_MS });
    }
    return authOffThread({ raw: raw.path ? null : raw.buffer, path: raw.path ?? null }, env, opts);
  };
  // A message parsed on a parse thread (accept.ts) is checked there, on the same read of it.
  check.onParseThread = (envelope) => ({ env: envOf(envelope), ...opts });
  return check;
}
