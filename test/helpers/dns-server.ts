import type { Socket } from 'node:net';
import dns2, { Packet } from 'dns2';

/**
 * A real authoritative DNS server on 127.0.0.1 for tests: UDP and TCP on the same port (c-ares
 * retries over TCP when a UDP answer is truncated, e.g. a long DKIM key). Point code at it with
 * DNS_SERVERS=127.0.0.1:PORT (node's Resolver.setServers accepts "ip:port").
 *
 *   const dns = await startDnsServer([{ name: '_mailhook.example.com', type: 'TXT', value: 'x' }]);
 *   ... createResolver([dns.address]) ...
 *   await dns.close();
 *
 * Names are case-insensitive, a trailing dot is ignored. A name with no records at all answers
 * NXDOMAIN (node: ENOTFOUND); a name with records of other types answers NODATA (ENODATA).
 */

export type DnsRecordType = 'TXT' | 'MX' | 'A';

export interface DnsRecord {
  name: string;
  type: DnsRecordType;
  /** TXT text (split into 255-byte strings for you), MX exchange host, or A IPv4 address. */
  value: string;
  /** MX preference; 10 when unset. */
  priority?: number;
}

export interface TestDnsServer {
  port: number;
  /** "127.0.0.1:PORT", ready for DNS_SERVERS or Resolver.setServers. */
  address: string;
  /** Replaces every record. */
  set(records: DnsRecord[]): void;
  /** While silent, queries are read and never answered: clients see a timeout. */
  setSilent(silent: boolean): void;
  /** Every question received, in order, e.g. { name: 'example.com', type: 'MX' }. */
  queries: { name: string; type: string }[];
  close(): Promise<void>;
}

const TYPE_NAMES = new Map<number, string>(Object.entries(Packet.TYPE).map(([k, v]) => [v, k]));
const NXDOMAIN = 3; // RFC 1035 §4.1.1 (dns2's types omit Packet.RCODE)
const key = (name: string) => name.toLowerCase().replace(/\.$/, '');

/** RFC 1035 §3.3: a TXT record is a list of strings of at most 255 bytes each. */
function txtStrings(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i += 255) out.push(bytes.subarray(i, i + 255));
  return out.length ? out : [Buffer.alloc(0)];
}

function answer(q: { name: string }, r: DnsRecord): Record<string, unknown> {
  const base = { name: q.name, class: Packet.CLASS.IN, ttl: 1 };
  if (r.type === 'TXT') return { ...base, type: Packet.TYPE.TXT, data: txtStrings(r.value) };
  if (r.type === 'MX') return { ...base, type: Packet.TYPE.MX, exchange: r.value, priority: r.priority ?? 10 };
  return { ...base, type: Packet.TYPE.A, address: r.value };
}

export async function startDnsServer(records: DnsRecord[] = []): Promise<TestDnsServer> {
  let zone = records;
  let silent = false;
  const queries: { name: string; type: string }[] = [];

  const handle = (request: dns2.Packet, send: (response: dns2.Packet) => Promise<Buffer>) => {
    const [q] = request.questions;
    if (!q) return;
    const type = TYPE_NAMES.get(q.type) ?? String(q.type);
    queries.push({ name: key(q.name), type });
    if (silent) return;
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const named = zone.filter((r) => key(r.name) === key(q.name));
    if (named.length === 0) response.header.rcode = NXDOMAIN;
    for (const r of named.filter((r) => r.type === type)) {
      response.answers.push(answer(q, r) as unknown as dns2.Packet.Resource);
    }
    // dns2's TCP send returns undefined despite its types; a gone client is not the test's concern.
    Promise.resolve(send(response)).catch(() => {});
  };

  // UDP on an ephemeral port, then TCP on the same number; retry in the rare case it is taken.
  for (let attempt = 0; ; attempt++) {
    const udp = dns2.createUDPServer(handle);
    await udp.listen(0, '127.0.0.1');
    const port = udp.address().port;
    const tcp = dns2.createTCPServer(handle);
    const sockets = new Set<Socket>();
    tcp.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    const bound = await new Promise<boolean>((resolve) => {
      tcp.once('error', () => resolve(false));
      tcp.listen(port, '127.0.0.1', () => resolve(true));
    });
    if (!bound) {
      udp.close();
      if (attempt < 5) continue;
      throw new Error('dns-server: no port free for both UDP and TCP');
    }
    return {
      port,
      address: `127.0.0.1:${port}`,
      set(next) {
        zone = next;
      },
      setSilent(value) {
        silent = value;
      },
      queries,
      close: async () => {
        // dns2 keeps idle TCP connections open for 10 s (RFC 7766); do not wait for them.
        for (const s of sockets) s.destroy();
        await Promise.all([
          new Promise<void>((resolve) => udp.close(() => resolve())),
          new Promise<void>((resolve) => tcp.close(() => resolve())),
        ]);
      },
    };
  }
}
