import type { Deps } from '../deps.js';
import { authOffThread } from '../parse/auth-pool.js';
import type { AuthCheck } from './accept.js';

/** SPF/DKIM/DMARC/ARC for each message, on the auth thread; undefined when AUTH_CHECKS=false. */
export function authCheck(deps: Deps): AuthCheck | undefined {
  if (!deps.config.authChecks) return undefined;
  return (raw, envelope) =>
    authOffThread(
      { raw: raw.path ? null : raw.buffer, path: raw.path ?? null },
      { remoteIp: envelope.remoteIp, helo: envelope.helo, mailFrom: envelope.mailFrom },
      // Bounded: a sender's slow DNS may delay its own 250 by this much, never more.
      { servers: deps.config.dnsServers, dnsTimeoutMs: 2000, mta: deps.config.mxHost, timeoutMs: 5000 },
    );
}
