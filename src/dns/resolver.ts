import { Resolver } from 'node:dns/promises';

export interface DnsResolver {
  resolveTxt(name: string): Promise<string[][]>;
  resolveMx(name: string): Promise<{ exchange: string; priority: number }[]>;
  resolve4(name: string): Promise<string[]>;
}

/**
 * A resolver that asks `servers` (DNS_SERVERS; "host" or "host:port") or the system's.
 * Short timeouts: lookups happen inside API calls and SMTP sessions.
 */
export function createResolver(servers: string[], timeoutMs = 2000): DnsResolver {
  const resolver = new Resolver({ timeout: timeoutMs, tries: 2 });
  if (servers.length > 0) resolver.setServers(servers);
  return resolver;
}
