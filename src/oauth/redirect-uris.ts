/** At most this many per app, each at most this long: enough for dev, staging and production. */
export const MAX_REDIRECT_URIS = 10;
const MAX_LENGTH = 2000;

/** Hosts RFC 8252 §7.3 and §8.3 accept over plain http: the loopback interface only. */
const isLoopbackHost = (hostname: string) => hostname === 'localhost' || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);

/** Why a redirect URI cannot be registered, or null when it can. */
export function redirectUriProblem(uri: string): string | null {
  if (uri.length > MAX_LENGTH) return `at most ${MAX_LENGTH} characters`;
  // Compared as exact strings: no spaces or controls that the URL parser would quietly drop,
  // and ASCII only (an IDN host in its punycode form), so what is registered is what is matched.
  if (!/^[\x21-\x7e]+$/.test(uri)) return 'printable ASCII only, without spaces (write IDN hosts in punycode)';
  if (uri.includes('#')) return 'must not have a fragment (RFC 6749 §3.1.2)';
  if (uri.includes('*')) return 'wildcards are not allowed: register each exact URI';
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    return 'must be an absolute URL';
  }
  if (url.username || url.password) return 'must not contain a user name or password';
  if (url.protocol === 'https:') return url.hostname ? null : 'must name a host';
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname) ? null : 'must be https (plain http only for loopback: 127.0.0.1, [::1], localhost, per RFC 8252)';
  }
  return 'must be https (plain http only for loopback: RFC 8252)';
}

/**
 * Whether `given` is one of the registered URIs: exact string comparison (RFC 6749 §3.1.2.3),
 * with the single exception RFC 8252 §7.3 requires for native apps: a loopback IP literal
 * registered without a port matches that URI with any port, chosen by the app at run time.
 */
export function matchesRegistered(registered: readonly string[], given: string): boolean {
  if (registered.includes(given)) return true;
  if (redirectUriProblem(given) !== null) return false;
  const m = /^http:\/\/(127\.0\.0\.1|\[::1\]):(\d{1,5})(?=[/?]|$)/.exec(given);
  if (!m) return false;
  const withoutPort = `http://${m[1]}${given.slice(m[0].length)}`;
  return registered.includes(withoutPort);
}

/**
 * The redirect URI with response parameters added to its query. An existing query is kept
 * byte for byte (RFC 6749 §3.1.2: it MUST be retained), so it is appended to, not re-serialised.
 */
export function withParams(uri: string, params: Record<string, string | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null) q.append(k, v);
  const sep = !uri.includes('?') ? '?' : uri.endsWith('?') || uri.endsWith('&') ? '' : '&';
  return uri + sep + q.toString();
}
