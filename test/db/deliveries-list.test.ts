import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_SQL, type DeliveryStatus } from '../../src/db/deliveries.js';
import { deliveryListQuery, type DeliveryListFilter } from '../../src/db/deliveries-list.js';
import { newId } from '../../src/ids.js';
import { emptyParsed } from '../../src/parse/parse-message.js';
import { seedUserAndDomain, testDeps, type TestDeps, sqliteOf } from '../helpers/deps.js';

type Key = 'status' | 'messageId' | 'routeId';
const KEYS: Key[] = ['status', 'messageId', 'routeId'];
const STATUSES: DeliveryStatus[] = ['failed', 'pending', 'delivered'];
const T0 = Date.UTC(2026, 10, 1);

/** Every subset of the optional filters, each status for a subset with status: the statements list() can prepare. */
const combinations = (): { keys: Key[]; status?: DeliveryStatus }[] =>
  Array.from({ length: 1 << KEYS.length }, (_, mask) => KEYS.filter((_k, i) => mask & (1 << i))).flatMap((keys) =>
    keys.includes('status') ? STATUSES.map((status) => ({ keys, status })) : [{ keys }],
  );

interface Seeded {
  id: string;
  userId: string;
  messageId: string;
  routeId: string | null;
  domainId: string;
  status: DeliveryStatus;
}

interface Data {
  rows: Seeded[];
  userId: string;
  /** Busy, busy, small; the first two share some messages. */
  domains: string[];
  /** Live route id → its domain. */
  routes: Map<string, string>;
  /** A route deleted since (its deliveries keep the id), and one of the other account. */
  gone: string;
  theirs: string;
  /** Each message's recipient domains. */
  messages: Map<string, string[]>;
}

/** Deterministic pseudo-random numbers, so a failure repeats. */
function random(seed: number) {
  let s = seed;
  // mulberry32
  return (n: number) => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 2 ** 32) * n);
  };
}

/**
 * Two accounts; account a has three domains (the third small), routes on each, a catch-all, and
 * one route deleted since. Each message is addressed to one or two domains (some to two
 * addresses at one) and gets a delivery per route fired at them, or the catch-all's. Deliveries
 * are made in shuffled message order, so delivery ids do not follow message ids; a tenth failed,
 * a sixth pending.
 */
async function seed(deps: TestDeps, n: number): Promise<Data> {
  const a = await seedUserAndDomain(deps, 'a.test');
  const b = await seedUserAndDomain(deps, 'b.test');
  const domains = [a.domain.id];
  for (const name of ['c.test', 'small.test']) {
    const id = newId('dom');
    sqliteOf(deps).domains.insert({ ...a.domain, id, name, verificationToken: `tok-${name}` });
    domains.push(id);
  }
  const routes = new Map<string, string>();
  const route = (userId: string, domainId: string) => {
    const id = newId('rte');
    const now = deps.now();
    sqliteOf(deps).routes.insert({
      id, userId, domainId, match: '*', action: 'webhook', destination: 'https://h.example.net/x', secret: 'whsec_x',
      priority: 100, stop: false, filters: null, enabled: true, createdAt: now, updatedAt: now,
    });
    routes.set(id, domainId);
    return id;
  };
  const routesOf = new Map([
    [domains[0]!, [route(a.user.id, domains[0]!), route(a.user.id, domains[0]!)]],
    [domains[1]!, [route(a.user.id, domains[1]!)]],
    [domains[2]!, [route(a.user.id, domains[2]!)]],
    [b.domain.id, [route(b.user.id, b.domain.id)]],
  ]);
  const gone = route(a.user.id, domains[1]!);
  const rnd = random(7);
  const messages = new Map<string, string[]>();
  const planned: Omit<Seeded, 'id' | 'status'>[] = [];
  deps.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const own = i % 7 !== 0;
      const userId = own ? a.user.id : b.user.id;
      const first = own ? domains[i % 23 === 1 ? 2 : i % 2]! : b.domain.id;
      const to = own && i % 5 === 0 ? [first, domains[(domains.indexOf(first) + 1) % 2]!] : [first];
      const id = newId('msg', T0 + i * 60_000);
      sqliteOf(deps).messages.insert(
        {
          id, userId, domainId: first,
          envelope: { mailFrom: 's@example.org', rcptTo: to.map((d) => `r@${d}`), helo: 'c.test', remoteIp: '127.0.0.1', tls: false },
          parsed: emptyParsed(), auth: {}, size: 1, rawKey: `msg/${id}/raw.eml`, parseError: null, receivedAt: T0 + i * 60_000, purgedAt: null,
        },
        [],
      );
      for (const d of new Set(to)) sqliteOf(deps).messages.insertRecipient(id, `r@${d}`, d);
      // Two recipients at one domain: the message is still listed once under it.
      if (i % 11 === 0) sqliteOf(deps).messages.insertRecipient(id, `s@${first}`, first);
      messages.set(id, to);
      for (const d of new Set(to)) {
        const fired = rnd(4) === 0 ? [] : routesOf.get(d)!.filter(() => rnd(3) !== 0);
        if (d === domains[1] && rnd(6) === 0) fired.push(gone);
        for (const routeId of fired.length ? fired : [null]) planned.push({ userId, messageId: id, routeId, domainId: d });
      }
    }
  })();
  sqliteOf(deps).routes.delete(a.user.id, gone);
  routes.delete(gone);
  const rows: Seeded[] = [];
  const setStatus = deps.db.prepare('UPDATE deliveries SET status = ?, next_attempt_at = NULL WHERE id = ?');
  deps.db.transaction(() => {
    while (planned.length > 0) {
      const p = planned.splice(rnd(planned.length), 1)[0]!;
      const id = newId('dlv');
      const r = rnd(60);
      const status: DeliveryStatus = r < 6 ? 'failed' : r < 16 ? 'pending' : 'delivered';
      sqliteOf(deps).deliveries.insert({ id, ...p, url: 'https://h.example.net/x', secret: 'whsec_x' }, deps.now());
      if (status !== 'pending') setStatus.run(status, id);
      rows.push({ id, ...p, status });
    }
  })();
  return { rows, userId: a.user.id, domains, routes, gone, theirs: routesOf.get(b.domain.id)![0]!, messages };
}

type Filter = DeliveryListFilter & { domainId?: string };

/** EXPLAIN QUERY PLAN's steps. */
function planOf(deps: TestDeps, sql: string, params?: unknown): string[] {
  const statement = deps.db.prepare(`EXPLAIN QUERY PLAN ${sql}`);
  return ((params === undefined ? statement.all() : statement.all(params)) as { detail: string }[]).map((p) => p.detail);
}

/** What list() must return, computed without SQL. */
function expected(data: Data, f: Filter): string[] {
  // The domain recorded on the row, whether or not its route still exists.
  const under = (r: Seeded, domainId: string) => r.domainId === domainId;
  return data.rows
    .filter(
      (r) =>
        r.userId === f.userId &&
        r.id < (f.before ?? '\uffff') &&
        (f.status === undefined || r.status === f.status) &&
        (f.messageId === undefined || r.messageId === f.messageId) &&
        (f.routeId === undefined || r.routeId === f.routeId) &&
        (f.domainId === undefined || under(r, f.domainId)),
    )
    .map((r) => r.id)
    .sort()
    .reverse()
    .slice(0, f.limit);
}

describe('deliveries list', () => {
  let deps: TestDeps;
  let data: Data;
  /** A message of account a with deliveries by a route, the catch-all and the deleted route. */
  let busyMessage: string;
  let busyRoute: string;
  beforeAll(async () => {
    deps = testDeps();
    data = await seed(deps, 700);
    const perMessage = new Map<string, Seeded[]>();
    for (const r of data.rows) perMessage.set(r.messageId, [...(perMessage.get(r.messageId) ?? []), r]);
    busyMessage = [...perMessage.entries()].find(([, ds]) => ds.length >= 3 && ds.some((d) => d.routeId === data.gone))![0];
    busyRoute = [...data.routes.keys()][0]!;
  });
  afterAll(() => deps.cleanup());

  const filter = (keys: Key[], status: DeliveryStatus | undefined, routeId: string): DeliveryListFilter => {
    const f: DeliveryListFilter = { userId: data.userId, limit: 7 };
    if (keys.includes('status')) f.status = status;
    if (keys.includes('messageId')) f.messageId = busyMessage;
    if (keys.includes('routeId')) f.routeId = routeId;
    return f;
  };
  /** Without a domain; a busy domain's walk; a small domain read whole. */
  const scopes = (): { label: string; domainId?: string; smallDomain?: boolean }[] => [
    { label: 'account' },
    ...data.domains.map((domainId, i) => ({ label: `walk ${i}`, domainId, smallDomain: false })),
    ...data.domains.map((domainId, i) => ({ label: `small ${i}`, domainId, smallDomain: true })),
  ];
  const plan = (sql: string, params?: unknown) => planOf(deps, sql, params);

  /** The index the first step must seek, for the statement deliveryListQuery() builds. */
  const intended = (f: Filter & { smallDomain?: boolean }): RegExp => {
    if (f.messageId) return /^SEARCH d USING INDEX deliveries_message_id \(message_id=\? AND id<\?\)$/;
    if (f.routeId && f.status !== 'failed' && f.status !== 'pending') return /^SEARCH d USING INDEX deliveries_user_route \(user_id=\? AND route_id=\? AND id<\?\)$/;
    if (f.status) return /^SEARCH d USING INDEX deliveries_user_status \(user_id=\? AND status=\? AND id<\?\)$/;
    return /^SEARCH d USING INDEX deliveries_user \(user_id=\? AND id<\?\)$/;
  };
  /** Every later step: a subquery's header, or a lookup by equality (a route, a message's recipient). */
  const lookup = /^((CORRELATED )?(SCALAR|LIST) SUBQUERY \d+|SEARCH (rt|r) USING (COVERING )?INDEX \w+ \([\w=?]+( AND [\w=?]+)*\))$/;

  // `?message_id=` of an old message took 260 ms a page at 1,000,000 deliveries (bench api-scale),
  // `?status=failed` 12 ms, a key restricted to a domain with 0.1 % of the mail 26 ms: the one
  // statement with `(@x IS NULL OR …)` could only walk deliveries_user, checking every row.
  it.each([false, true])('seeks the index of the filters set, in id order, for every combination and scope (ANALYZEd: %s)', (analyzed) => {
    if (analyzed) deps.db.exec('ANALYZE');
    for (const { keys, status } of combinations()) {
      for (const scope of scopes()) {
        const f = { ...filter(keys, status, busyRoute), domainId: scope.domainId, smallDomain: scope.smallDomain };
        const { sql, params } = deliveryListQuery(f);
        const steps = plan(sql, params);
        const label = `${keys.join('+') || 'none'} ${status ?? ''} ${scope.label}: ${steps.join(' | ')}`;
        if (f.domainId && f.smallDomain && !f.messageId) {
          // A small domain: its messages (a co-routine on message_recipients_domain), each
          // message's deliveries, sorted: at most ~SMALL_DOMAIN rows.
          const walk = ['SCAN dm', 'SEARCH d USING INDEX deliveries_message_id (message_id=? AND id<?)'];
          expect(steps.slice(0, 2), label).toEqual(['CO-ROUTINE dm', 'SEARCH message_recipients USING COVERING INDEX message_recipients_domain (domain_id=?)']);
          expect(steps.filter((step) => walk.includes(step)), label).toEqual(walk);
          for (const step of steps.slice(2, -1).filter((step) => !walk.includes(step))) expect(step, label).toMatch(lookup);
          expect(steps.at(-1), label).toBe('USE TEMP B-TREE FOR ORDER BY');
        } else {
          expect(steps[0], label).toMatch(intended(f));
          for (const step of steps.slice(1)) expect(step, label).toMatch(lookup);
          expect(steps.join(' | '), label).not.toMatch(/TEMP B-TREE/);
        }
        // No table is scanned; `SCAN dm` reads the co-routine's message ids.
        expect(steps.filter((step) => /\bSCAN\b/.test(step) && step !== 'SCAN dm'), label).toEqual([]);
      }
    }
  });

  it('returns the same rows, newest first, page after page, for every combination and scope', () => {
    for (const { keys, status } of combinations()) {
      for (const routeId of [busyRoute, data.theirs, data.gone]) {
        for (const scope of scopes()) {
          const f: Filter = { ...filter(keys, status, routeId), domainId: scope.domainId };
          const label = `${keys.join('+') || 'none'} ${status ?? ''} ${routeId} ${scope.label}`;
          const { sql } = deliveryListQuery({ ...f, smallDomain: scope.smallDomain });
          const statement = deps.db.prepare(sql);
          const viaRepo = (before?: string) =>
            f.domainId
              ? sqliteOf(deps).domainDeliveries.list({ ...f, domainId: f.domainId, before })
              : sqliteOf(deps).deliveries.list({ ...f, before });
          let before: string | undefined;
          let pages = 0;
          for (;;) {
            const want = expected(data, { ...f, before });
            const page = (statement.all(deliveryListQuery({ ...f, smallDomain: scope.smallDomain, before }).params) as { id: string }[]).map((d) => d.id);
            expect(page, label).toEqual(want);
            expect(viaRepo(before).map((d) => d.id), label).toEqual(want);
            if (page.length < f.limit) break;
            before = page.at(-1);
            pages++;
          }
          expect(pages, label).toBeLessThan(200);
        }
      }
    }
    // The data has what the filters are about: each kind of row in each scope.
    for (const domainId of data.domains) expect(expected(data, { userId: data.userId, domainId, limit: 1e6 }).length).toBeGreaterThan(20);
    expect(data.rows.filter((r) => r.routeId === data.gone).length).toBeGreaterThan(10);
    expect(data.rows.filter((r) => r.routeId === null).length).toBeGreaterThan(50);
  });

  it('lists nothing for a route of another domain under a restricted key, or of another account', () => {
    const [first, second] = data.domains;
    expect(sqliteOf(deps).domainDeliveries.list({ userId: data.userId, domainId: second!, routeId: busyRoute, limit: 5 })).toEqual([]);
    expect(sqliteOf(deps).domainDeliveries.list({ userId: data.userId, domainId: first!, routeId: busyRoute, limit: 5 })).toHaveLength(5);
    expect(sqliteOf(deps).deliveries.list({ userId: data.userId, routeId: data.theirs, limit: 5 })).toEqual([]);
    const { sql, params } = deliveryListQuery({ userId: data.userId, domainId: second!, routeId: busyRoute, limit: 5 });
    // The route's domain is compared once, before the walk.
    expect(plan(sql, params)).toContainEqual(expect.stringMatching(/^SCALAR SUBQUERY \d+$/));
  });

  it("lists a message's deliveries in id order without a sort", () => {
    expect(plan('SELECT * FROM deliveries WHERE message_id = ? ORDER BY id', [busyMessage])).toEqual([
      'SEARCH deliveries USING INDEX deliveries_message_id (message_id=?)',
    ]);
    const ids = data.rows.filter((r) => r.messageId === busyMessage).map((r) => r.id).sort();
    expect(sqliteOf(deps).deliveries.forMessage(busyMessage).map((d) => d.id)).toEqual(ids);
  });
});

// The worker's queue keeps its plans on deliveries_due next to the list's indexes, with and without statistics.
describe('delivery queue', () => {
  let deps: TestDeps;
  beforeAll(async () => {
    deps = testDeps();
    await seed(deps, 300);
  });
  afterAll(() => deps.cleanup());

  it.each([false, true])('leaves the queue statements on deliveries_due (ANALYZEd: %s)', (analyzed) => {
    if (analyzed) deps.db.exec('ANALYZE');
    expect(planOf(deps, QUEUE_SQL.pendingDestinations).join(' | ')).toBe(
      'CO-ROUTINE d | SETUP | SEARCH deliveries USING COVERING INDEX deliveries_due (status=?) | RECURSIVE STEP | SCAN d | ' +
        'CORRELATED SCALAR SUBQUERY 2 | SEARCH deliveries USING COVERING INDEX deliveries_due (status=? AND dest>?) | SCAN d | ' +
        'CORRELATED SCALAR SUBQUERY 4 | SEARCH deliveries USING COVERING INDEX deliveries_due (status=? AND dest=?)',
    );
    expect(planOf(deps, QUEUE_SQL.dueFor, { dest: 'x', now: 1, limit: 1 })).toEqual(['SEARCH deliveries USING INDEX deliveries_due (status=? AND dest=? AND next_attempt_at<?)']);
    // One statement leases a whole claim, each row by its primary key, never by walking the pending rows.
    expect(planOf(deps, QUEUE_SQL.lease, { ids: '["x","y"]', now: 1, leaseUntil: 2 })).toEqual([
      'SEARCH deliveries USING INDEX sqlite_autoindex_deliveries_1 (id=?)',
      'LIST SUBQUERY 1',
      'SCAN json_each VIRTUAL TABLE INDEX 1:',
    ]);
  });
});
