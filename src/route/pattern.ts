import { domainToASCII } from 'node:url';
import { compileRouteRegex, MAX_REGEX_LENGTH, type RouteRegex } from './regex.js';

/**
 * Route patterns (DESIGN §5). Recipient forms:
 *   support@example.com      exact address
 *   *@example.com            any local part; `*` may appear anywhere in the local part (glob)
 *   orders+*@example.com     orders+anything@ AND bare orders@: a `+*` ending the local part
 *                            makes the +tag optional, as Mailgun's match_recipient users expect
 *                            (whoever owns the tagged addresses owns the untagged one too)
 *   /regex/                  anchored ^…$, case-insensitive, RE2 (regex.ts)
 * Everything is compared case-insensitively on the whole address: no mail service people compare
 * us with treats local parts as case-sensitive. `%`, `!` and `.` in local parts are plain
 * characters (no source routing, no dot-folding: that is Gmail's private rule).
 */

/** RFC 5321 §4.5.3.1: 64-octet local part + @ + 255-octet domain. Longer is not an address. */
export const MAX_ADDRESS_LENGTH = 320;
export const MAX_PATTERN_LENGTH = MAX_REGEX_LENGTH;
/** Filter values longer than this are matched on their first MAX_FILTER_INPUT characters. */
export const MAX_FILTER_INPUT = 2048;

type Compiled = { kind: 'exact'; address: string } | { kind: 'regex'; re: RouteRegex };

/** Lower-cased, unquoted where quoting is redundant, IDN domain in punycode, no trailing dot. */
export function normalizeAddress(address: string): string {
  let a = address.trim();
  if (a.startsWith('<') && a.endsWith('>')) a = a.slice(1, -1);
  const at = a.lastIndexOf('@');
  if (at < 0) return a.toLowerCase();
  let local = a.slice(0, at);
  // RFC 5322 §3.2.4: a quoted string is semantically identical to the atom it quotes.
  if (/^"[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+"$/.test(local) && !/^"\.|\.\.|\."$/.test(local)) local = local.slice(1, -1);
  return `${local.toLowerCase()}@${normalizeDomain(a.slice(at + 1))}`;
}

function normalizeDomain(domain: string): string {
  const d = domain.trim().replace(/\.$/, '').toLowerCase();
  if (d.startsWith('[')) return d; // address literal
  return domainToASCII(d) || d;
}

const escapeRegex = (s: string) => s.replace(/[\\^$.|?*+()[\]{}/]/g, '\\$&');
const globToRegex = (glob: string) => glob.split('*').map(escapeRegex).join('.*');

const isRegexForm = (p: string) => /^\/.+\/i?$/s.test(p);
const regexBody = (p: string) => p.slice(1, p.endsWith('/i') ? -2 : -1);

const cache = new Map<string, Compiled | { error: string }>();
const CACHE_LIMIT = 1000;

function memo(key: string, build: () => Compiled | { error: string }): Compiled | { error: string } {
  let hit = cache.get(key);
  if (!hit) {
    hit = build();
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(key, hit);
  }
  return hit;
}

function fromRegex(source: string): Compiled | { error: string } {
  const re = compileRouteRegex(source);
  return 'error' in re ? re : { kind: 'regex', re };
}

function compileRecipient(pattern: string): Compiled | { error: string } {
  return memo(`r:${pattern}`, () => {
    const p = pattern.trim();
    if (!p) return { error: 'pattern is empty' };
    if (p.length > MAX_PATTERN_LENGTH) return { error: `pattern longer than ${MAX_PATTERN_LENGTH} characters` };
    if (isRegexForm(p)) return fromRegex(regexBody(p));
    const at = p.lastIndexOf('@');
    if (at <= 0) return { error: 'pattern must be an address, *@domain, local+*@domain or /regex/' };
    const local = p.slice(0, at);
    const domain = normalizeDomain(p.slice(at + 1));
    if (domain.includes('*')) return { error: 'wildcards are only allowed in the local part' };
    if (/[\s<>,;]/.test(local.replace(/"[^"]*"/g, '""')) || /[\s<>,;]/.test(domain)) {
      return { error: 'pattern must be a single address without spaces, <>, commas or semicolons' };
    }
    if (/[\p{Cc}]/u.test(p)) return { error: 'pattern contains control characters' };
    const normalized = normalizeAddress(`${local}@${domain}`);
    if (!local.includes('*')) return { kind: 'exact', address: normalized };
    const normLocal = normalized.slice(0, normalized.lastIndexOf('@'));
    const tagged = normLocal.endsWith('+*') && normLocal.length > 2;
    const localRe = tagged ? `${globToRegex(normLocal.slice(0, -2))}(?:\\+.*)?` : globToRegex(normLocal);
    return fromRegex(`${localRe}@${escapeRegex(domain)}`);
  });
}

/** Why `pattern` cannot be a recipient pattern of `domainName`, or null when it can. */
export function validatePattern(pattern: string, domainName: string): string | null {
  const compiled = compileRecipient(pattern);
  if ('error' in compiled) return compiled.error;
  const p = pattern.trim();
  if (isRegexForm(p)) return null; // only this domain's recipients ever reach its routes
  const domain = normalizeDomain(p.slice(p.lastIndexOf('@') + 1));
  const own = normalizeDomain(domainName);
  return domain === own ? null : `pattern must be for ${own}, not ${domain}`;
}

/**
 * What a recipient pattern costs at every RCPT TO: the size of its RE2 program (0 for an exact
 * address). Matching is linear, (address length + 1) x size steps at most, so the sum over a
 * domain's routes bounds the CPU one RCPT can take.
 */
export function recipientPatternCost(pattern: string): number {
  const compiled = compileRecipient(pattern);
  return 'error' in compiled || compiled.kind === 'exact' ? 0 : compiled.re.size;
}

/** Whether `address` matches a recipient pattern. Invalid patterns match nothing; never throws. */
export function matchRecipient(pattern: string, address: string): boolean {
  if (address.length > MAX_ADDRESS_LENGTH) return false;
  const compiled = compileRecipient(pattern);
  if ('error' in compiled) return false;
  const a = normalizeAddress(address);
  return compiled.kind === 'exact' ? compiled.address === a : compiled.re.test(a);
}

/**
 * Filter values (route `filters`). `*` globs and `/regex/` match the whole value, like
 * recipients. A plain string means what each field's users expect:
 *   from     an exact address (`billing@stripe.com`) or, without `@`, the sender's exact domain
 *            (`stripe.com`), as in Postmark's inbound rules. Never a substring: a substring would
 *            let `billing@stripe.com.evil.test` pass a filter meant for Stripe.
 *   text     (subject, header values) a case-insensitive substring, like a mail client's
 *            "subject contains" filter.
 * The from filter sees the address only, never the display name, which any sender can set to
 * "billing@stripe.com".
 */
export type FilterKind = 'from' | 'text';

function compileFilter(pattern: string, kind: FilterKind): Compiled | { error: string } | { kind: 'substring'; text: string } {
  if (!pattern.trim()) return { error: 'filter value is empty' };
  if (pattern.length > MAX_PATTERN_LENGTH) return { error: `filter value longer than ${MAX_PATTERN_LENGTH} characters` };
  if (isRegexForm(pattern)) return memo(`f:${pattern}`, () => fromRegex(regexBody(pattern)));
  if (pattern.includes('*')) return memo(`g:${kind}:${pattern}`, () => fromRegex(globToRegex(kind === 'from' ? pattern.trim() : pattern)));
  if (kind === 'text') return { kind: 'substring', text: pattern.toLowerCase() };
  const p = pattern.trim();
  return { kind: 'exact', address: p.includes('@') ? normalizeAddress(p) : `@${normalizeDomain(p)}` };
}

export function validateFilterValue(pattern: string, kind: FilterKind): string | null {
  const c = compileFilter(pattern, kind);
  return 'error' in c ? c.error : null;
}

/**
 * Milliseconds of regex matching one message may spend on filters, across all its routes and
 * recipients. The sender controls the values (up to 1,000 headers of one name, 2 KiB of each is
 * matched) and the tenant the patterns: unbounded, one header filter cost seconds of event loop
 * per message. Measured, not counted: RE2 runs most patterns at a step a character and a few at
 * up to (length x program size), and the event loop is what is being protected. What is left
 * unevaluated does not match (fails closed); one evaluation can overrun the budget by at most
 * one worst-case match (MAX_PROGRAM_SIZE x MAX_FILTER_INPUT steps).
 */
export const FILTER_BUDGET_MS = 200;
export interface FilterBudget {
  ms: number;
}

/** Whether `value` satisfies a filter pattern. Invalid patterns match nothing; never throws. */
export function matchFilterValue(pattern: string, value: string, kind: FilterKind, budget?: FilterBudget): boolean {
  const c = compileFilter(pattern, kind);
  if ('error' in c) return false;
  if (c.kind === 'substring') return value.toLowerCase().includes(c.text);
  // A truncated address could end right after a trusted domain: too long is no match.
  if (kind === 'from' && value.length > MAX_ADDRESS_LENGTH) return false;
  const v = kind === 'from' ? normalizeAddress(value) : value;
  if (c.kind === 'regex') {
    if (!budget) return c.re.test(v.slice(0, MAX_FILTER_INPUT));
    if (budget.ms <= 0) return false;
    const started = performance.now();
    const matched = c.re.test(v.slice(0, MAX_FILTER_INPUT));
    budget.ms -= performance.now() - started;
    return matched;
  }
  return c.address.startsWith('@') ? v.endsWith(c.address) : v === c.address;
}
