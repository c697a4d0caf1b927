import { isIPv6 } from 'node:net';

/**
 * Classifies IP addresses for SSRF protection: a webhook may only reach a public unicast
 * address. Anything else (loopback, private, link-local, metadata, multicast, reserved...) is
 * named by `forbiddenReason`, which the error messages quote.
 */

/**
 * Parses IPv4 the way inet_aton and the WHATWG URL parser do: one to four parts, each decimal,
 * 0x-hex or 0-octal, the last one filling the remaining bytes. So `2130706433`, `0177.0.0.1`,
 * `0x7f.1` and `127.1` all read as 127.0.0.1, exactly as a resolver or socket would read them.
 */
export function parseIPv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop(); // "1.2.3.4." is the same host
  if (parts.length < 1 || parts.length > 4) return null;
  const nums: number[] = [];
  for (const p of parts) {
    if (/^0x[0-9a-f]*$/i.test(p)) nums.push(p.length === 2 ? 0 : parseInt(p.slice(2), 16));
    else if (/^0[0-7]+$/.test(p)) nums.push(parseInt(p, 8));
    else if (/^(0|[1-9]\d*)$/.test(p)) nums.push(Number(p));
    else return null;
  }
  const last = nums.pop()!;
  if (nums.some((n) => n > 255) || last >= 256 ** (4 - nums.length)) return null;
  return nums.reduce((v, n, i) => v + n * 256 ** (3 - i), last);
}

/** 128-bit value of an IPv6 address (embedded dotted IPv4 tail allowed), or null. */
export function parseIPv6(s: string): bigint | null {
  if (!isIPv6(s)) return null;
  let text = s;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseIPv4(dotted[1]!)!;
    text = text.slice(0, dotted.index) + `${(v4 >>> 16).toString(16)}:${(v4 & 0xffff).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.reduce((v, g) => (v << 16n) | BigInt(parseInt(g, 16)), 0n);
}

type Rule = [base: number, bits: number, why: string];
type Rule6 = [base: bigint, bits: number, why: string];

const v4 = (s: string) => parseIPv4(s)!;
const v6 = (s: string) => parseIPv6(s)!;

const V4_RULES: Rule[] = [
  [v4('0.0.0.0'), 8, '"this network" (0.0.0.0/8)'],
  [v4('10.0.0.0'), 8, 'private (RFC 1918)'],
  [v4('100.64.0.0'), 10, 'carrier-grade NAT (100.64.0.0/10)'],
  [v4('127.0.0.0'), 8, 'loopback'],
  [v4('169.254.169.254'), 32, 'cloud metadata'],
  [v4('169.254.0.0'), 16, 'link-local'],
  [v4('172.16.0.0'), 12, 'private (RFC 1918)'],
  [v4('192.0.0.0'), 24, 'IETF protocol assignment'],
  [v4('192.0.2.0'), 24, 'documentation'],
  [v4('192.168.0.0'), 16, 'private (RFC 1918)'],
  [v4('198.18.0.0'), 15, 'benchmarking'],
  [v4('198.51.100.0'), 24, 'documentation'],
  [v4('203.0.113.0'), 24, 'documentation'],
  [v4('224.0.0.0'), 4, 'multicast'],
  [v4('255.255.255.255'), 32, 'broadcast'],
  [v4('240.0.0.0'), 4, 'reserved'],
];

const V6_RULES: Rule6[] = [
  [0n, 128, 'unspecified'],
  [1n, 128, 'loopback'],
  [v6('fd00:ec2::254'), 128, 'cloud metadata'],
  [v6('64:ff9b:1::'), 48, 'local-use NAT64'],
  [v6('100::'), 64, 'discard-only'],
  [v6('2001::'), 32, 'Teredo'],
  [v6('2001:db8::'), 32, 'documentation'],
  [v6('fc00::'), 7, 'unique local'],
  [v6('fe80::'), 10, 'link-local'],
  [v6('fec0::'), 10, 'site-local'],
  [v6('ff00::'), 8, 'multicast'],
];

const inV4 = (ip: number, [base, bits]: Rule) => bits === 0 || ip >>> (32 - bits) === base >>> (32 - bits);
const inV6 = (ip: bigint, [base, bits]: Rule6) => ip >> BigInt(128 - bits) === base >> BigInt(128 - bits);

function v4Reason(ip: number): string | null {
  return V4_RULES.find((r) => inV4(ip, r))?.[2] ?? null;
}

function v6Reason(ip: bigint): string | null {
  const rule = V6_RULES.find((r) => inV6(ip, r));
  if (rule) return rule[2];
  // Forms that carry an IPv4 address are judged by it: a socket to ::ffff:127.0.0.1 reaches
  // 127.0.0.1, and so may a NAT64 or 6to4 gateway; NAT64 of a public address is legitimate.
  const low32 = Number(ip & 0xffffffffn);
  if (ip >> 32n === 0xffffn) return embedded('IPv4-mapped', low32);
  if (ip >> 32n === v6('64:ff9b::') >> 32n) return embedded('NAT64', low32);
  if (ip >> 112n === 0x2002n) return embedded('6to4', Number((ip >> 80n) & 0xffffffffn));
  if (ip >> 32n === 0n) return 'IPv4-compatible (deprecated)';
  if (ip >> 125n !== 1n) return 'not global unicast (outside 2000::/3)';
  return null;
}

function embedded(kind: string, ip: number): string | null {
  const why = v4Reason(ip);
  return why && `${kind} form of a ${why}`;
}

/**
 * Why `ip` must not be connected to, or null when it is a public unicast address. Accepts
 * dotted, numeric (inet_aton) and bracketed or zoned IPv6 forms. Anything that is not an IP
 * address at all is refused too: the check fails closed.
 */
export function forbiddenReason(ip: string): string | null {
  let s = ip.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  if (s.includes(':')) {
    const n = parseIPv6(s);
    return n === null ? 'not an IP' : v6Reason(n);
  }
  const n = parseIPv4(s);
  return n === null ? 'not an IP' : v4Reason(n);
}

export function isForbiddenAddress(ip: string): boolean {
  return forbiddenReason(ip) !== null;
}

/**
 * Whether `ip` can be a reverse proxy of our own: loopback, RFC 1918, carrier-grade NAT,
 * link-local or unique local, IPv4-mapped forms included. Documentation and other special
 * ranges are not: a forwarded-for hop there is someone's claim, not our network.
 */
export function isProxyAddress(ip: string): boolean {
  const why = forbiddenReason(ip);
  return why !== null && /loopback|private|carrier-grade NAT|link-local|unique local/.test(why);
}
