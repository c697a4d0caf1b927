import type { Socket } from 'node:net';
import dns2, { Packet } from 'dns2';

/**
 * A small authoritative DNS server on 127.0.0.1, for trying Mailhook without a real domain
 * (`mailhook dns serve`) and for tests: UDP and TCP on the same port (c-ares retries over TCP when
 * a UDP answer is truncated, e.g. a long DKIM key). Point Mailhook at it with
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

export interface DnsQuery {
  name: string;
  type: string;
}

export interface DnsServerOptions {
  /** 0 (the default) picks a port that is free for both UDP and TCP. */
  port?: number;
  /** Called after each answer: the question, and the number of answers or NXDOMAIN. */
  onQuery?: (q: DnsQuery, result: number | 'NXDOMAIN') => void;
}

export interface DnsServer {
  port: number;
  /** "127.0.0.1:PORT", ready for DNS_SERVERS or Resolver.setServers. */
  address: string;
  /** Replaces every record. */
  set(records: DnsRecord[]): void;
  /** While silent, queries are read and never answered: clients see a timeout. */
  setSilent(silent: boolean): void;
  /** Every question received, in order, e.g. { name: 'example.com', type: 'MX' }. */
  queries: DnsQuery[];
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
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

type Handler = (request: dns2.Packet, send: (response: dns2.Packet) => Promise<Buffer>) => void;

/** UDP and TCP on `port` (0: the UDP socket's ephemeral port); rejects with the bind error. */
async function bindBoth(port: number, handle: Handler) {
  const udp = dns2.createUDPServer(handle);
  await new Promise<void>((resolve, reject) => {
    udp.once('error', reject);
    // dns2's listen() never rejects: a bind error only reaches the 'error' listener above.
    void udp.listen(port, HOST).then(() => {
      udp.off('error', reject);
      resolve();
    });
  });
  const bound = udp.address().port;
  const tcp = dns2.createTCPServer(handle);
  const sockets = new Set<Socket>();
  tcp.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  try {
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(bound, HOST, () => {
        tcp.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    udp.close();
    throw err;
  }
  return { udp, tcp, sockets, port: bound };
}

/** Starts answering from `records` (a list, or a function asked on every query). */
export async function startDnsServer(
  records: DnsRecord[] | (() => DnsRecord[]) = [],
  options: DnsServerOptions = {},
): Promise<DnsServer> {
  let zone = typeof records === 'function' ? records : () => records;
  let silent = false;
  const queries: DnsQuery[] = [];

  const handle: Handler = (request, send) => {
    const [q] = request.questions;
    if (!q) return;
    const query = { name: key(q.name), type: TYPE_NAMES.get(q.type) ?? String(q.type) };
    queries.push(query);
    if (silent) return;
    const response = Packet.createResponseFromRequest(request);
    response.header.aa = 1;
    const named = zone().filter((r) => key(r.name) === query.name);
    if (named.length === 0) response.header.rcode = NXDOMAIN;
    for (const r of named.filter((r) => r.type === query.type)) {
      response.answers.push(answer(q, r) as unknown as dns2.Packet.Resource);
    }
    // dns2's TCP send returns undefined despite its types; a client that went away is not our concern.
    Promise.resolve(send(response)).catch(() => {});
    options.onQuery?.(query, named.length === 0 ? 'NXDOMAIN' : response.answers.length);
  };

  // With port 0, UDP picks the number and TCP may find it taken: retry a few times.
  let server: Awaited<ReturnType<typeof bindBoth>> | undefined;
  for (let attempt = 0; !server; attempt++) {
    try {
      server = await bindBoth(options.port ?? 0, handle);
    } catch (err) {
      if (options.port || attempt >= 5) throw err;
    }
  }
  const { udp, tcp, sockets, port } = server;
  return {
    port,
    address: `${HOST}:${port}`,
    set(next) {
      zone = () => next;
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
