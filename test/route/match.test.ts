import { describe, expect, it } from 'vitest';
import type { Route, RouteFilters } from '../../src/db/routes.js';
import {
  RCPT_NO_ROUTE,
  RCPT_REJECTED_BY_ROUTE,
  rcptDecision,
  routesForRecipient,
  validateFilters,
  type RoutedMessage,
} from '../../src/route/match.js';

let seq = 0;
function route(match: string, over: Partial<Route> = {}): Route {
  seq++;
  return {
    id: `rte_${String(seq).padStart(4, '0')}`,
    userId: 'usr_1',
    domainId: 'dom_1',
    match,
    action: 'webhook',
    destination: 'https://hooks.example.net/in',
    secret: 'whsec_x',
    priority: 100,
    stop: false,
    filters: null,
    enabled: true,
    createdAt: 0,
    updatedAt: 0,
    ...over,
  };
}

const msg = (over: Partial<RoutedMessage> = {}): RoutedMessage => ({
  from: { address: 'billing@stripe.com', name: 'Stripe' },
  subject: 'Your invoice #42',
  headers: [
    { name: 'Subject', value: 'Your invoice #42' },
    { name: 'X-Priority', value: '1' },
    { name: 'Received', value: 'from a.example.net' },
    { name: 'Received', value: 'from mx.stripe.com\r\n by us' },
  ],
  ...over,
});

const firedIds = (routes: Route[], rcpt: string, m = msg()) => routesForRecipient(routes, rcpt, m).fired.map((f) => f.route.id);

describe('routesForRecipient', () => {
  it('runs routes by ascending priority then id, whatever order they come in', () => {
    const a = route('*@example.com', { priority: 20 });
    const b = route('*@example.com', { priority: 10 });
    const c = route('*@example.com', { priority: 10, id: 'rte_0000' });
    expect(firedIds([a, b, c], 'x@example.com')).toEqual([c.id, b.id, a.id]);
  });

  it('fans out to every matching route and skips the ones that do not match', () => {
    const a = route('support@example.com');
    const b = route('*@example.com');
    const c = route('sales@example.com');
    expect(firedIds([a, b, c], 'support@example.com')).toEqual([a.id, b.id]);
  });

  it('stops after the first matching route with stop, not at a non-matching one', () => {
    const skip = route('sales@example.com', { priority: 1, stop: true });
    const first = route('support@example.com', { priority: 2 });
    const stopper = route('*@example.com', { priority: 3, stop: true });
    const after = route('*@example.com', { priority: 4 });
    const r = routesForRecipient([after, stopper, first, skip], 'support@example.com', msg());
    expect(r.fired.map((f) => f.route.id)).toEqual([first.id, stopper.id]);
    expect(r.trace.find((t) => t.routeId === after.id)).toEqual({
      routeId: after.id,
      matched: false,
      reason: `not evaluated: route ${stopper.id} matched with stop`,
    });
  });

  it('does not stop at a stop route whose filters fail', () => {
    const stopper = route('*@example.com', { priority: 1, stop: true, filters: { subject: 'receipt' } });
    const next = route('*@example.com', { priority: 2 });
    expect(firedIds([stopper, next], 'a@example.com')).toEqual([next.id]);
  });

  it.each<[RouteFilters, boolean]>([
    [{ from: 'stripe.com' }, true],
    [{ from: 'billing@stripe.com' }, true],
    [{ from: 'paypal.com' }, false],
    [{ from: 'Stripe' }, false], // display names are not addresses
    [{ subject: 'invoice' }, true],
    [{ subject: 'receipt' }, false],
    [{ header: { name: 'x-priority', value: '1' } }, true],
    [{ header: { name: 'X-Priority', value: '5' } }, false],
    [{ header: { name: 'X-Missing', value: '*' } }, false],
    [{ header: { name: 'Received', value: '*mx.stripe.com by us*' } }, true], // any occurrence, unfolded
    [{ from: 'stripe.com', subject: 'invoice', header: { name: 'X-Priority', value: '1' } }, true],
    [{ from: 'stripe.com', subject: 'receipt', header: { name: 'X-Priority', value: '1' } }, false],
    [{ from: 'paypal.com', subject: 'invoice' }, false],
  ])('filters %j → fires %s (all must hold)', (filters, fires) => {
    expect(firedIds([route('*@example.com', { filters })], 'a@example.com')).toHaveLength(fires ? 1 : 0);
  });

  it('explains each decision for the dry run', () => {
    const r1 = route('*@example.com', { filters: { subject: 'invoice', from: '*@stripe.com' } });
    const r2 = route('sales@example.com');
    const r3 = route('*@example.com', { filters: { header: { name: 'X-Spam', value: 'yes' } } });
    const { fired, trace } = routesForRecipient([r1, r2, r3], 'a@example.com', msg());
    expect(fired).toEqual([
      { route: r1, reason: "recipient matches *@example.com; from billing@stripe.com matches '*@stripe.com'; subject matches 'invoice'" },
    ]);
    expect(trace.map((t) => [t.matched, t.reason])).toEqual([
      [true, "recipient matches *@example.com; from billing@stripe.com matches '*@stripe.com'; subject matches 'invoice'"],
      [false, 'recipient does not match sales@example.com'],
      [false, 'recipient matches *@example.com; header X-Spam is absent'],
    ]);
  });

  it('ignores disabled routes', () => {
    expect(firedIds([route('*@example.com', { enabled: false })], 'a@example.com')).toEqual([]);
  });

  it('lets store and drop routes fire like webhooks', () => {
    const s = route('*@example.com', { action: 'store', destination: null });
    const d = route('*@example.com', { action: 'drop', destination: null });
    expect(firedIds([s, d], 'a@example.com')).toEqual([s.id, d.id]);
  });

  it('never fires a reject route; reaching one means nothing fires (the recipient was refused at RCPT)', () => {
    const before = route('*@example.com', { priority: 1, filters: { subject: 'invoice' } });
    const reject = route('spam@example.com', { priority: 2, action: 'reject', destination: null });
    const after = route('*@example.com', { priority: 3 });
    expect(firedIds([before, reject, after], 'spam@example.com')).toEqual([]);
    expect(firedIds([before, reject, after], 'ok@example.com')).toEqual([before.id, after.id]);
  });

  it('returns the same route for each recipient it matches: the caller fires it once per message', () => {
    const all = route('*@example.com');
    expect(firedIds([all], 'a@example.com')).toEqual([all.id]);
    expect(firedIds([all], 'b@example.com')).toEqual([all.id]);
  });

  it('fires nothing when no route matches (the caller falls back to the catch-all)', () => {
    expect(routesForRecipient([route('sales@example.com')], 'a@example.com', msg()).fired).toEqual([]);
  });
});

describe('rcptDecision', () => {
  const noRoute = { accept: false, code: 550, message: RCPT_NO_ROUTE };
  const refused = { accept: false, code: 550, message: RCPT_REJECTED_BY_ROUTE };

  it('accepts a recipient a route matches, by pattern only', () => {
    expect(rcptDecision([route('support@example.com')], 'Support@Example.com', false)).toEqual({ accept: true });
    // Filters are unknown at RCPT: a route that may fire keeps the recipient.
    expect(rcptDecision([route('*@example.com', { filters: { subject: 'x' } })], 'a@example.com', false)).toEqual({ accept: true });
    expect(rcptDecision([route('*@example.com', { action: 'drop' })], 'a@example.com', false)).toEqual({ accept: true });
  });

  it('refuses with 550 5.1.1 when nothing matches and there is no catch-all', () => {
    expect(rcptDecision([route('support@example.com')], 'other@example.com', false)).toEqual(noRoute);
    expect(rcptDecision([], 'a@example.com', false)).toEqual(noRoute);
    expect(rcptDecision([route('*@example.com', { enabled: false })], 'a@example.com', false)).toEqual(noRoute);
    expect(RCPT_NO_ROUTE).toMatch(/^5\.1\.1 /);
  });

  it('accepts anything for a domain with a catch-all webhook', () => {
    expect(rcptDecision([], 'a@example.com', true)).toEqual({ accept: true });
    expect(rcptDecision([route('support@example.com')], 'other@example.com', true)).toEqual({ accept: true });
  });

  it('refuses with 550 5.7.1 when the walk reaches a matching reject route, catch-all or not', () => {
    const reject = route('spam@example.com', { action: 'reject', priority: 1 });
    const all = route('*@example.com', { priority: 2 });
    expect(rcptDecision([all, reject], 'spam@example.com', true)).toEqual(refused);
    expect(rcptDecision([all, reject], 'ok@example.com', false)).toEqual({ accept: true });
    expect(RCPT_REJECTED_BY_ROUTE).toMatch(/^5\.7\.1 /);
  });

  it('is shielded from a later reject only by a filterless stop route', () => {
    const reject = route('*@example.com', { action: 'reject', priority: 9 });
    const stop = route('vip@example.com', { stop: true, priority: 1 });
    const stopWithFilter = route('vip@example.com', { stop: true, priority: 1, filters: { subject: 'x' } });
    const noStop = route('vip@example.com', { priority: 1 });
    expect(rcptDecision([stop, reject], 'vip@example.com', false)).toEqual({ accept: true });
    expect(rcptDecision([stopWithFilter, reject], 'vip@example.com', false)).toEqual(refused);
    expect(rcptDecision([noStop, reject], 'vip@example.com', false)).toEqual(refused);
    expect(rcptDecision([stop, reject], 'other@example.com', true)).toEqual(refused);
  });

  it('agrees with routesForRecipient: an accepted recipient never reaches a reject route', () => {
    const pool = () => [
      route('*@example.com', { action: 'reject', priority: 5 }),
      route('a@example.com', { priority: 1, stop: true }),
      route('b@example.com', { priority: 1, stop: true, filters: { subject: 'invoice' } }),
      route('c@example.com', { priority: 9 }),
      route('a@example.com', { priority: 3, action: 'reject' }),
    ];
    for (const rcpt of ['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']) {
      for (const catchAll of [false, true]) {
        const routes = pool();
        const verdict = rcptDecision(routes, rcpt, catchAll);
        const { trace } = routesForRecipient(routes, rcpt, msg());
        const hitReject = trace.some((t) => t.matched && t.reason.includes('reject'));
        expect([rcpt, catchAll, verdict.accept && hitReject]).toEqual([rcpt, catchAll, false]);
      }
    }
  });
});

describe('validateFilters', () => {
  it.each<[unknown, RouteFilters | null]>([
    [null, null],
    [undefined, null],
    [{}, null],
    [{ subject: null }, null],
    [{ from: 'stripe.com' }, { from: 'stripe.com' }],
    [{ subject: 'invoice', header: { name: 'X-Tag', value: '/a|b/' } }, { subject: 'invoice', header: { name: 'X-Tag', value: '/a|b/' } }],
  ])('%j is valid', (input, filters) => {
    expect(validateFilters(input)).toEqual({ filters });
  });

  it.each<[unknown, RegExp]>([
    ['subject', /must be an object/],
    [[], /must be an object/],
    [{ to: 'x' }, /unknown filter to/],
    [{ from: 5 }, /filters\.from must be a string/],
    [{ from: '' }, /filters\.from: filter value is empty/],
    [{ subject: '/(a)\\1/' }, /filters\.subject: .*backreferences/],
    [{ header: 'X-Tag: 1' }, /filters\.header must be/],
    [{ header: { name: 'Bad:Name', value: 'x' } }, /header field name/],
    [{ header: { name: '', value: 'x' } }, /header field name/],
    [{ header: { name: 'X-Tag' } }, /header\.value must be a string/],
    [{ header: { name: 'X-Tag', value: '/(?=x)/' } }, /header\.value: .*lookaround/],
  ])('%j is refused', (input, error) => {
    const result = validateFilters(input);
    expect('error' in result && result.error).toMatch(error);
  });

  it('refuses filters on reject routes: they act before the message exists', () => {
    expect(validateFilters({ subject: 'x' }, 'reject')).toEqual({ error: expect.stringMatching(/reject routes cannot have filters/) });
    expect(validateFilters({}, 'reject')).toEqual({ filters: null });
    expect(validateFilters({ subject: 'x' }, 'drop')).toEqual({ filters: { subject: 'x' } });
  });
});
