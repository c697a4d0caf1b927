import { domainToASCII } from 'node:url';

/**
 * Sender block patterns (POST /api/blocks), pure. Three forms, compared case-insensitively,
 * domains in punycode:
 * - `ada@example.com`: that address;
 * - `*@example.com`: any address at exactly that domain;
 * - `example.com`: any address at that domain or one of its subdomains (mail.example.com).
 */
const LOCAL = /^[^\s@<>()[\],;:"\\]{1,64}$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

function asciiDomain(d: string): string | null {
  const ascii = domainToASCII(d.replace(/\.$/, '').toLowerCase());
  if (!ascii || ascii.length > 253) return null;
  const labels = ascii.split('.');
  return labels.length >= 2 && labels.every((l) => LABEL.test(l)) ? ascii : null;
}

/** The stored form of a pattern, or why it is not one. */
export function normaliseBlockPattern(input: string): { pattern: string } | { error: string } {
  const s = input.trim();
  const at = s.lastIndexOf('@');
  if (at < 0) {
    const d = asciiDomain(s);
    return d ? { pattern: d } : { error: 'must be an address, *@domain or a domain' };
  }
  const local = s.slice(0, at);
  const domain = asciiDomain(s.slice(at + 1));
  if (!domain) return { error: `${s.slice(at + 1) || '(empty)'} is not a domain name` };
  if (local === '*') return { pattern: `*@${domain}` };
  if (!LOCAL.test(local)) return { error: 'the local part must be * or an address local part' };
  return { pattern: `${local.toLowerCase()}@${domain}` };
}

/** Whether `address` (MAIL FROM or header From) matches one of `patterns` (normalised). The null sender never does. */
export function senderBlocked(patterns: readonly string[], address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || patterns.length === 0) return false;
  const domain = asciiDomain(address.slice(at + 1));
  if (!domain) return false;
  const full = `${address.slice(0, at).toLowerCase()}@${domain}`;
  return patterns.some((p) => {
    if (p.includes('@')) return p.startsWith('*@') ? p.slice(2) === domain : p === full;
    return domain === p || domain.endsWith(`.${p}`);
  });
}
