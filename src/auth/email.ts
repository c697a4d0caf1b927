import { domainToASCII } from 'node:url';

/** RFC 5321 §4.5.3.1: 64-octet local part, 255-octet domain; 254 is the usable path limit. */
const MAX_EMAIL = 254;
const LOCAL = /^[^\s@<>()[\],;:"\\\p{Cc}]{1,64}$/u;
const DOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

/**
 * The account key: trimmed and lower-cased (nobody expects `Bob@x.com` and `bob@x.com` to be two
 * accounts), IDN domain in punycode, with a basic syntax check. Null when it is not an address.
 */
export function normaliseEmail(input: string): string | null {
  const trimmed = input.trim().toLowerCase();
  const at = trimmed.lastIndexOf('@');
  if (at < 1 || trimmed.length > MAX_EMAIL) return null;
  const local = trimmed.slice(0, at);
  const domain = domainToASCII(trimmed.slice(at + 1));
  if (!LOCAL.test(local) || !DOMAIN.test(domain)) return null;
  const email = `${local}@${domain}`;
  return email.length > MAX_EMAIL ? null : email;
}
