import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIPv4, type LookupFunction } from 'node:net';
import { HttpError } from '../errors.js';
import { forbiddenReason } from './ip-class.js';

export { forbiddenReason, isForbiddenAddress } from './ip-class.js';

const MAX_URL_LENGTH = 2048;

/** The bare IP of a URL's hostname when it is a literal (WHATWG keeps IPv6 in brackets). */
export function literalIp(hostname: string): string | null {
  if (hostname.startsWith('[') && hostname.endsWith(']')) return hostname.slice(1, -1);
  return isIPv4(hostname) ? hostname : null;
}

/**
 * Save-time check of a webhook URL (DESIGN §6), so a user learns at once what is wrong with
 * it: absolute, https (http too only with ALLOW_INSECURE_WEBHOOKS), no credentials in it, and
 * a literal IP must be public. Host names are checked when connecting (`guardedLookup`): what
 * a name resolves to today says nothing about what it resolves to at delivery time.
 * WHATWG parsing has already turned numeric hosts (`2130706433`, `0x7f.1`) into dotted form.
 */
export function assertWebhookUrl(url: string, opts: { allowInsecure: boolean }): void {
  if (url.length > MAX_URL_LENGTH) throw new HttpError(400, `webhook URL is longer than ${MAX_URL_LENGTH} characters`);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new HttpError(400, 'webhook URL is not a valid absolute URL');
  }
  if (u.protocol !== 'https:' && !(u.protocol === 'http:' && opts.allowInsecure)) {
    throw new HttpError(400, `webhook URL must start with https:// (got ${u.protocol})`);
  }
  if (u.username || u.password) throw new HttpError(400, 'webhook URL must not contain a user name or password');
  if (opts.allowInsecure) return;
  const ip = literalIp(u.hostname);
  const why = ip && forbiddenReason(ip);
  if (why) throw new HttpError(400, `webhook URL points to ${ip}, a ${why} address; only public addresses are allowed`);
}

/**
 * All a user is told when a destination's name does not resolve to public addresses only: the
 * test answer and attempt logs are theirs to read, and "internal.corp resolves to 10.0.0.5" or
 * "getaddrinfo ENOTFOUND" would let anyone who signs up map our internal DNS.
 */
export const REFUSED_ADDRESS = 'refused: the address is not public';

/** A refused destination: `message` is for the user, `detail` (what resolved to what) for the server log. */
export class ForbiddenAddressError extends Error {
  readonly code = 'EFORBIDDENADDRESS';
  constructor(readonly detail: string) {
    super(REFUSED_ADDRESS);
  }
}

/**
 * A `lookup` for http(s).request: dns.lookup, then every address is checked before the socket
 * connects to one of them. Because the check runs on the very answer the socket uses, a name
 * that resolves to a public address at save time and to 127.0.0.1 at delivery time (DNS
 * rebinding) is still refused. Any forbidden address in the answer refuses the whole name.
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
    // A name that does not resolve looks like one that resolves privately: otherwise the
    // difference between the two answers says which internal names exist.
    if (err) return callback(new ForbiddenAddressError(`${hostname}: ${err.code ?? err.message}`), '');
    for (const a of addresses) {
      const why = forbiddenReason(a.address);
      if (why) return callback(new ForbiddenAddressError(`${hostname} resolves to ${a.address}, a ${why} address`), '');
    }
    const first = addresses[0];
    if (!first) return callback(new ForbiddenAddressError(`${hostname}: no address`), '');
    if (options.all) callback(null, addresses);
    else callback(null, first.address, first.family);
  });
};
