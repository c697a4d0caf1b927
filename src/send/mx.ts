import type { DnsResolver } from '../dns/resolver.js';
import { forbiddenReason } from '../net/ip-class.js';

export interface MxHost {
  /** The MX name: the TLS server name and what the attempt log shows. */
  host: string;
  ip: string;
}

/** A permanent answer about the domain itself (no such domain, null MX): the recipient bounces. */
export class PermanentDnsError extends Error {}

const NO_RECORD = new Set(['ENOTFOUND', 'ENODATA', 'NXDOMAIN', 'ENONAME']);
const code = (err: unknown) => (err as { code?: string }).code ?? '';

/**
 * Where mail for `domain` goes, in order of preference (RFC 5321 §5.1): its MX hosts by
 * priority, or with no MX record the domain's own A record (the implicit MX). A null MX
 * (RFC 7505, "0 .") means the domain takes no mail. Addresses that are loopback, private,
 * link-local or metadata are dropped unless `allowPrivate` (ALLOW_INSECURE_WEBHOOKS, tests):
 * a domain whose MX points inside our network must not make us connect there.
 */
export async function resolveMx(resolver: DnsResolver, domain: string, allowPrivate: boolean): Promise<MxHost[]> {
  let hosts: string[];
  try {
    const mx = await resolver.resolveMx(domain);
    if (mx.some((r) => r.exchange === '' || r.exchange === '.')) throw new PermanentDnsError(`${domain} accepts no mail (null MX, RFC 7505)`);
    hosts = mx.sort((a, b) => a.priority - b.priority).map((r) => r.exchange.toLowerCase().replace(/\.$/, ''));
  } catch (err) {
    if (err instanceof PermanentDnsError) throw err;
    if (!NO_RECORD.has(code(err))) throw new Error(`MX lookup for ${domain} failed: ${code(err) || (err as Error).message}`);
    hosts = [domain];
  }
  const out: MxHost[] = [];
  const refused: string[] = [];
  for (const host of hosts) {
    let ips: string[];
    try {
      ips = await resolver.resolve4(host);
    } catch (err) {
      if (NO_RECORD.has(code(err))) continue;
      throw new Error(`A lookup for ${host} failed: ${code(err) || (err as Error).message}`);
    }
    for (const ip of ips) {
      const reason = allowPrivate ? null : forbiddenReason(ip);
      if (reason) refused.push(`${host} (${ip}: ${reason})`);
      else out.push({ host, ip });
    }
  }
  if (out.length === 0) {
    if (refused.length) throw new PermanentDnsError(`mail servers of ${domain} are not allowed: ${refused.join(', ')}`);
    throw new PermanentDnsError(`${domain} has no mail server (no MX or A record)`);
  }
  return out;
}

/**
 * How long an answer is kept: a caching resolver would keep it for the record's TTL, which
 * node's resolveMx does not report; a minute is under the TTL of nearly every MX record, and a
 * busy destination then costs one lookup a minute instead of one per batch.
 */
export const MX_CACHE_MS = 60_000;
const MAX_CACHED = 10_000;

/** resolveMx with successful answers kept MX_CACHE_MS; failures are asked again every time. */
export function cachedMxLookup(resolver: DnsResolver, allowPrivate: boolean, now: () => number): (domain: string) => Promise<MxHost[]> {
  const kept = new Map<string, { hosts: MxHost[]; until: number }>();
  return async (domain) => {
    const hit = kept.get(domain);
    if (hit && hit.until > now()) return hit.hosts;
    const hosts = await resolveMx(resolver, domain, allowPrivate);
    if (kept.size >= MAX_CACHED) kept.clear();
    kept.set(domain, { hosts, until: now() + MX_CACHE_MS });
    return hosts;
  };
}
