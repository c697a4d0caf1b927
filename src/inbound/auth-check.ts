import type { Deps } from '../deps.js';
import { computeAuth, createAuthResolver } from '../parse/auth.js';
import type { AuthCheck } from './accept.js';

/** SPF/DKIM/DMARC/ARC for each message, or undefined when AUTH_CHECKS=false. */
export function authCheck(deps: Deps): AuthCheck | undefined {
  if (!deps.config.authChecks) return undefined;
  const resolver = createAuthResolver(deps.config.dnsServers, 2000);
  return (raw, envelope) =>
    computeAuth(
      raw,
      { remoteIp: envelope.remoteIp, helo: envelope.helo, mailFrom: envelope.mailFrom },
      // Bounded: a sender's slow DNS may delay its own 250 by this much, never more.
      { resolver, mta: deps.config.mxHost, timeoutMs: 5000 },
    );
}
