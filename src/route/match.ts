import type { Route, RouteAction, RouteFilters } from '../db/routes.js';
import type { Address, Header, SpamVerdict } from '../parse/types.js';
import { spamMatches, validateSpamFilter } from './spam-filter.js';
import { FILTER_BUDGET_MS, matchFilterValue, matchRecipient, validateFilterValue, type FilterBudget, type FilterKind } from './pattern.js';

/**
 * Routing (DESIGN §5), pure. Routes run in ascending priority (then id); every route whose
 * recipient pattern and filters match fires (fan-out) until one with `stop` fires.
 * Patterns and filter semantics: see pattern.ts.
 */

export interface RoutedMessage {
  from: Address;
  subject: string;
  headers: Header[];
  /** The spam filter's verdict, when one ran. */
  spam?: SpamVerdict | null;
}

export interface RouteTrace {
  routeId: string;
  matched: boolean;
  reason: string;
}

export type RcptVerdict = { accept: true } | { accept: false; code: 550; message: string };

/** Enhanced status codes (RFC 3463) lead the text; the caller may strip them. */
export const RCPT_NO_ROUTE = '5.1.1 Recipient address rejected: no route';
export const RCPT_REJECTED_BY_ROUTE = '5.7.1 Recipient address rejected by route';

/** Enabled routes in run order, without mutating the caller's array. */
export function orderRoutes(routes: Route[]): Route[] {
  return routes
    .filter((r) => r.enabled)
    .sort((a, b) => a.priority - b.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const quote = (s: string) => `'${s}'`;

type FilterResult = { ok: boolean; reasons: string[] };

/**
 * Filters depend on the message and the route, not on the recipient: each route's result is
 * kept per message object (planDelivery and the dry run pass one object for all recipients),
 * and all of a message's filters share one work budget.
 */
const perMessage = new WeakMap<RoutedMessage, { budget: FilterBudget; results: Map<Route, FilterResult> }>();

function filtersOf(route: Route, msg: RoutedMessage): FilterResult {
  let state = perMessage.get(msg);
  if (!state) perMessage.set(msg, (state = { budget: { ms: FILTER_BUDGET_MS }, results: new Map() }));
  let result = state.results.get(route);
  if (!result) state.results.set(route, (result = checkFilters(route.filters, msg, state.budget)));
  return result;
}

/** Whether every filter holds, with what was checked up to the first failure (dry-run trace). */
function checkFilters(filters: RouteFilters | null, msg: RoutedMessage, budget: FilterBudget): FilterResult {
  const reasons: string[] = [];
  if (!filters) return { ok: true, reasons };
  const verdict = (ok: boolean) => (ok ? 'matches' : budget.ms <= 0 ? 'was not evaluated (filter work limit for this message reached)' : 'does not match');
  if (filters.from !== undefined) {
    const ok = matchFilterValue(filters.from, msg.from.address, 'from', budget);
    reasons.push(`from ${msg.from.address || '(none)'} ${verdict(ok)} ${quote(filters.from)}`);
    if (!ok) return { ok, reasons };
  }
  if (filters.subject !== undefined) {
    const ok = matchFilterValue(filters.subject, msg.subject, 'text', budget);
    reasons.push(`subject ${verdict(ok)} ${quote(filters.subject)}`);
    if (!ok) return { ok, reasons };
  }
  if (filters.header) {
    const { name, value } = filters.header;
    const values = msg.headers
      .filter((h) => h.name.toLowerCase() === name.toLowerCase())
      .map((h) => h.value.replace(/\r?\n(?=[ \t])/g, ''));
    // Any occurrence of a repeated header (Received, X-Tag…) may satisfy the filter.
    const ok = values.some((v) => matchFilterValue(value, v, 'text', budget));
    const what = values.length === 0 ? `header ${name} is absent` : `header ${name} ${verdict(ok)} ${quote(value)}`;
    reasons.push(what);
    if (!ok) return { ok, reasons };
  }
  if (filters.spam !== undefined) {
    const { ok, reason } = spamMatches(filters.spam, msg.spam);
    reasons.push(reason);
    if (!ok) return { ok, reasons };
  }
  return { ok: true, reasons };
}

/**
 * The routes that fire for one recipient of an accepted message, and why each route did or did
 * not, for POST /api/routes/test. `reject` routes never fire: they act at RCPT (rcptDecision).
 * A recipient rcptDecision accepted never reaches a matching reject route here (the walk that
 * accepted it stopped at a filterless stop route first); for a dry run that does, the result is
 * the truth: the recipient would have been refused, nothing fires.
 * A message with two recipients matching one route yields that route once per recipient: the
 * caller fires it once per message (dedupe by route id).
 */
export function routesForRecipient(
  routes: Route[],
  rcpt: string,
  msg: RoutedMessage,
): { fired: { route: Route; reason: string }[]; trace: RouteTrace[]; refused: boolean } {
  let fired: { route: Route; reason: string }[] = [];
  const trace: RouteTrace[] = [];
  let endedBy: string | null = null;
  let refused = false;
  for (const route of orderRoutes(routes)) {
    if (endedBy) {
      trace.push({ routeId: route.id, matched: false, reason: `not evaluated: ${endedBy}` });
      continue;
    }
    if (!matchRecipient(route.match, rcpt)) {
      trace.push({ routeId: route.id, matched: false, reason: `recipient does not match ${route.match}` });
      continue;
    }
    const head = `recipient matches ${route.match}`;
    // A reject route with a spam filter acts once the message is read: 550 at the end of DATA.
    if (route.action === 'reject' && hasFilters(route.filters)) {
      const filters = filtersOf(route, msg);
      trace.push({ routeId: route.id, matched: filters.ok, reason: [head, ...filters.reasons].join('; ') + (filters.ok ? '; reject: refused with 550 at the end of DATA' : '') });
      if (!filters.ok) continue;
      fired = [];
      refused = true;
      endedBy = `route ${route.id} refused the message`;
      continue;
    }
    if (route.action === 'reject') {
      fired = [];
      endedBy = `route ${route.id} rejects the recipient at RCPT`;
      trace.push({ routeId: route.id, matched: true, reason: `${head}; reject: refused at RCPT with 550, nothing fires` });
      continue;
    }
    const filters = filtersOf(route, msg);
    const reason = [head, ...filters.reasons].join('; ');
    trace.push({ routeId: route.id, matched: filters.ok, reason });
    if (!filters.ok) continue;
    fired.push({ route, reason });
    if (route.stop) endedBy = `route ${route.id} matched with stop`;
  }
  return { fired, trace, refused };
}

/**
 * The RCPT TO verdict (DESIGN §1 inv. 2): only the recipient is known, so filters are not.
 * Walks routes in order on their patterns: a matching reject route refuses; a matching stop
 * route without filters ends the walk (one with filters might not fire, so it cannot); accept
 * when a non-reject route matched or the domain has a catch-all webhook.
 */
export function rcptDecision(routes: Route[], rcpt: string, hasCatchAll: boolean): RcptVerdict {
  let matched = false;
  for (const route of orderRoutes(routes)) {
    if (!matchRecipient(route.match, rcpt)) continue;
    // Its spam filter is decided after DATA; it takes nothing at RCPT on its own.
    if (route.action === 'reject' && hasFilters(route.filters)) continue;
    if (route.action === 'reject') return { accept: false, code: 550, message: RCPT_REJECTED_BY_ROUTE };
    matched = true;
    if (route.stop && !hasFilters(route.filters)) break;
  }
  return matched || hasCatchAll ? { accept: true } : { accept: false, code: 550, message: RCPT_NO_ROUTE };
}

const hasFilters = (f: RouteFilters | null | undefined) =>
  !!f && (f.from !== undefined || f.subject !== undefined || f.header !== undefined || f.spam !== undefined);

const FILTER_KEYS = new Set(['from', 'subject', 'header', 'spam']);
const HEADER_NAME = /^[!-9;-~]{1,100}$/; // RFC 5322 §2.2: printable ASCII except colon

/**
 * Validates the API's `filters` field. Unknown keys are refused rather than ignored: a typo such
 * as `to` would otherwise make a route fire for every message. `{}` and null mean no filters.
 * Reject routes cannot carry filters: they act at RCPT, before there is a message to filter.
 */
export function validateFilters(filters: unknown, action?: RouteAction): { filters: RouteFilters | null } | { error: string } {
  if (filters === null || filters === undefined) return { filters: null };
  if (typeof filters !== 'object' || Array.isArray(filters)) return { error: 'filters must be an object' };
  const input = filters as Record<string, unknown>;
  const unknown = Object.keys(input).filter((k) => !FILTER_KEYS.has(k));
  if (unknown.length) return { error: `unknown filter ${unknown.join(', ')} (allowed: from, subject, header, spam)` };
  const out: RouteFilters = {};
  for (const [key, kind] of [['from', 'from'], ['subject', 'text']] as const) {
    const v = input[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') return { error: `filters.${key} must be a string` };
    const err = validateFilterValue(v, kind satisfies FilterKind);
    if (err) return { error: `filters.${key}: ${err}` };
    out[key] = v;
  }
  const h = input.header;
  if (h !== undefined && h !== null) {
    if (typeof h !== 'object' || Array.isArray(h)) return { error: 'filters.header must be { name, value }' };
    const { name, value } = h as Record<string, unknown>;
    if (typeof name !== 'string' || !HEADER_NAME.test(name)) return { error: 'filters.header.name must be a header field name' };
    if (typeof value !== 'string') return { error: 'filters.header.value must be a string' };
    const err = validateFilterValue(value, 'text');
    if (err) return { error: `filters.header.value: ${err}` };
    out.header = { name, value };
  }
  if (input.spam !== undefined && input.spam !== null) {
    const s = validateSpamFilter(input.spam);
    if ('error' in s) return { error: s.error };
    out.spam = s.spam;
  }
  if (!hasFilters(out)) return { filters: null };
  if (action === 'reject' && (out.spam === undefined || out.from !== undefined || out.subject !== undefined || out.header)) {
    return { error: 'reject routes cannot have filters other than spam: they act at RCPT, before the message exists (with spam: at the end of DATA)' };
  }
  return { filters: out };
}
