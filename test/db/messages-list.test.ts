import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listQuery, type MessageListFilter } from '../../src/db/messages.js';
import { newId } from '../../src/ids.js';
import { emptyParsed } from '../../src/parse/parse-message.js';
import { seedUserAndDomain, testDeps, type TestDeps, sqliteOf } from '../helpers/deps.js';

type Key = 'domainId' | 'recipient' | 'from' | 'since' | 'until';
const KEYS: Key[] = ['domainId', 'recipient', 'from', 'since', 'until'];
const T0 = Date.UTC(2026, 10, 1);

/** Every subset of the optional filters: the 32 statements list() can prepare. */
const combinations = (): Key[][] => Array.from({ length: 1 << KEYS.length }, (_, mask) => KEYS.filter((_k, i) => mask & (1 << i)));

interface Seeded {
  id: string;
  userId: string;
  /** The first recipient's domain. */
  domainId: string;
  from: string;
  recipients: { address: string; domainId: string }[];
  receivedAt: number;
}

/**
 * Two accounts, three domains, mail from four senders to one or two of five recipients each:
 * one in six messages to both of an account's domains, one in six to two addresses at one domain.
 */
async function seed(deps: TestDeps, n: number): Promise<{ rows: Seeded[]; userId: string; domains: string[] }> {
  const a = await seedUserAndDomain(deps, 'a.test');
  const b = await seedUserAndDomain(deps, 'b.test');
  const extra = { ...a.domain, id: newId('dom'), name: 'c.test', verificationToken: 'tok-c' };
  sqliteOf(deps).domains.insert(extra);
  const domains = [a.domain.id, extra.id];
  const names = new Map([[a.domain.id, 'a.test'], [extra.id, 'c.test'], [b.domain.id, 'b.test']]);
  const at = (local: string, domainId: string) => ({ address: `${local}@${names.get(domainId)!}`, domainId });
  const rows: Seeded[] = [];
  deps.db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const own = i % 7 !== 0;
      const receivedAt = T0 + i * 60_000;
      const first = own ? domains[i % 2]! : b.domain.id;
      const second = own && i % 2 === 0 ? domains[1]! : first;
      const row: Seeded = {
        id: newId('msg', receivedAt),
        userId: own ? a.user.id : b.user.id,
        domainId: first,
        from: `Sender${i % 4}@Example.org`,
        recipients: i % 3 === 0 ? [at(`r${i % 5}`, first), at(`r${(i + 1) % 5}`, second)] : [at(`r${i % 5}`, first)],
        receivedAt,
      };
      rows.push(row);
      sqliteOf(deps).messages.insert(
        {
          id: row.id,
          userId: row.userId,
          domainId: row.domainId,
          envelope: { mailFrom: row.from, rcptTo: row.recipients.map((r) => r.address), helo: 'c.test', remoteIp: '127.0.0.1', tls: false },
          parsed: { ...emptyParsed(), from: { address: row.from, name: '' } },
          auth: {},
          size: 1,
          rawKey: `msg/${row.id}/raw.eml`,
          parseError: null,
          receivedAt,
          purgedAt: null,
        },
        [],
      );
      for (const r of row.recipients) sqliteOf(deps).messages.insertRecipient(row.id, r.address, r.domainId);
    }
  })();
  return { rows, userId: a.user.id, domains };
}

/** What list() must return, computed without SQL. */
function expected(rows: Seeded[], f: MessageListFilter): string[] {
  return rows
    .filter(
      (r) =>
        r.userId === f.userId &&
        r.id < (f.before ?? '\uffff') &&
        (f.domainId === undefined || r.recipients.some((x) => x.domainId === f.domainId)) &&
        (f.from === undefined || r.from.toLowerCase() === f.from.toLowerCase()) &&
        (f.recipient === undefined || r.recipients.some((x) => x.address === f.recipient!.toLowerCase())) &&
        (f.since === undefined || r.receivedAt >= f.since) &&
        (f.until === undefined || r.receivedAt < f.until),
    )
    .map((r) => r.id)
    .sort()
    .reverse()
    .slice(0, f.limit);
}

function filter(userId: string, keys: Key[], domainId: string): MessageListFilter {
  const f: MessageListFilter = { userId, limit: 7 };
  if (keys.includes('domainId')) f.domainId = domainId;
  if (keys.includes('recipient')) f.recipient = 'R1@a.test';
  if (keys.includes('from')) f.from = 'sender1@example.org';
  if (keys.includes('since')) f.since = T0 + 20 * 60_000;
  if (keys.includes('until')) f.until = T0 + 500 * 60_000;
  return f;
}

describe('messages list', () => {
  let deps: TestDeps;
  let data: Awaited<ReturnType<typeof seed>>;
  beforeAll(async () => {
    deps = testDeps();
    data = await seed(deps, 600);
  });
  afterAll(() => deps.cleanup());

  const plan = (f: MessageListFilter) => {
    const { sql, params } = listQuery(f);
    return (deps.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((p) => p.detail);
  };

  /** The index the first step of the plan must seek, for the filters set. */
  const intended = (keys: Key[]): RegExp => {
    if (keys.includes('recipient')) return /^SEARCH r USING COVERING INDEX message_recipients_address \(address=\? AND message_id<\?\)$/;
    if (keys.includes('from')) return /^SEARCH m USING INDEX messages_user_from \(user_id=\? AND from_address=\? AND id<\?\)$/;
    if (keys.includes('domainId')) return /^SEARCH r USING COVERING INDEX message_recipients_domain \(domain_id=\? AND message_id<\?\)$/;
    return /^SEARCH m USING INDEX messages_user \(user_id=\? AND id<\?\)$/;
  };
  /** Every later step: a lookup by equality (one message, its recipients, one domain), or a subquery's header. */
  const lookup = /^(SEARCH \w+ (EXISTS )?USING (COVERING )?(INDEX \w+|PRIMARY KEY) \([\w=?]+( AND [\w=?]+)*\)|(CORRELATED )?SCALAR SUBQUERY \d+)$/;

  // A domain with 0.1 % of an account's mail took 30 ms a page (bench api-scale) because the
  // one statement with `(@domainId IS NULL OR …)` could only seek messages_user.
  it.each([false, true])('seeks the index of the filters set, in id order, for every combination (ANALYZEd: %s)', (analyzed) => {
    if (analyzed) deps.db.exec('ANALYZE');
    for (const keys of combinations()) {
      const steps = plan(filter(data.userId, keys, data.domains[0]!));
      const label = keys.join('+') || 'none';
      expect(steps[0], label).toMatch(intended(keys));
      for (const step of steps.slice(1)) expect(step, label).toMatch(lookup);
      if (steps[0]!.startsWith('SEARCH r ')) expect(steps, label).toContainEqual(expect.stringMatching(/^SEARCH m USING INDEX \w+ \((user_id=\? AND (\w+=\? AND )?)?id=\?\)$/));
      if (keys.includes('domainId') && !keys.includes('recipient') && !keys.includes('from')) {
        // The domain is looked up in the caller's own domains before the walk.
        expect(steps, label).toContainEqual(expect.stringMatching(/^SEARCH domains USING (COVERING )?INDEX \w+ \((user_id=\? AND )?id=\?( AND user_id=\?)?\)$/));
      }
      expect(steps.join(' | '), label).not.toMatch(/\bSCAN\b|TEMP B-TREE/);
    }
  });

  it('returns the same rows, newest first, page after page, for every combination', () => {
    for (const keys of combinations()) {
      for (const domainId of data.domains) {
        const f = filter(data.userId, keys, domainId);
        const label = `${keys.join('+') || 'none'} ${domainId}`;
        let before: string | undefined;
        let pages = 0;
        for (;;) {
          const page = sqliteOf(deps).messages.list({ ...f, before }).map((m) => m.id);
          expect(page, label).toEqual(expected(data.rows, { ...f, before }));
          if (page.length < f.limit) break;
          before = page.at(-1);
          pages++;
        }
        expect(pages, label).toBeLessThan(100);
      }
    }
  });

  it('matches nothing for another account, an empty recipient or an unknown sender', () => {
    const other = data.rows.find((r) => r.userId !== data.userId)!;
    expect(sqliteOf(deps).messages.list({ userId: data.userId, recipient: '', limit: 5 })).toEqual([]);
    expect(sqliteOf(deps).messages.list({ userId: data.userId, from: 'nobody@example.org', limit: 5 })).toEqual([]);
    expect(sqliteOf(deps).messages.list({ userId: data.userId, domainId: other.domainId, limit: 5 })).toEqual([]);
    expect(sqliteOf(deps).messages.list({ userId: data.userId, recipient: other.recipients[0]!.address, limit: 500 }).every((m) => m.userId === data.userId)).toBe(true);
  });

  it("lists a message to both of an account's domains once under each, with both in domainIds", () => {
    const both = data.rows.filter((r) => r.userId === data.userId && new Set(r.recipients.map((x) => x.domainId)).size === 2);
    const twice = data.rows.filter((r) => r.recipients.length === 2 && r.recipients[0]!.domainId === r.recipients[1]!.domainId);
    expect(both.length).toBeGreaterThan(10);
    expect(twice.length).toBeGreaterThan(10);
    for (const domainId of data.domains) {
      const listed = sqliteOf(deps).messages.list({ userId: data.userId, domainId, limit: 1000 });
      const ids = listed.map((m) => m.id);
      expect(new Set(ids).size).toBe(ids.length);
      for (const r of both) expect(ids).toContain(r.id);
    }
    for (const m of sqliteOf(deps).messages.list({ userId: data.userId, limit: 1000 })) {
      const row = data.rows.find((r) => r.id === m.id)!;
      expect(m.domainIds).toEqual([...new Set([row.domainId, ...row.recipients.map((x) => x.domainId)])]);
    }
  });
});

describe('message domains', () => {
  it('leaves out a domain deleted since, and lists nothing under it for another account', async () => {
    const deps = testDeps();
    try {
      const { user, domain } = await seedUserAndDomain(deps, 'one.test');
      const two = { ...domain, id: newId('dom'), name: 'two.test', verificationToken: 'tok-two' };
      sqliteOf(deps).domains.insert(two);
      const id = newId('msg');
      sqliteOf(deps).messages.insert(
        {
          id,
          userId: user.id,
          domainId: domain.id,
          envelope: { mailFrom: 'a@sender.test', rcptTo: ['a@one.test', 'b@two.test'], helo: 'c.test', remoteIp: '127.0.0.1', tls: false },
          parsed: emptyParsed(),
          auth: {},
          size: 1,
          rawKey: `msg/${id}/raw.eml`,
          parseError: null,
          receivedAt: T0,
          purgedAt: null,
        },
        [],
      );
      sqliteOf(deps).messages.insertRecipient(id, 'a@one.test', domain.id);
      sqliteOf(deps).messages.insertRecipient(id, 'b@two.test', two.id);
      expect(sqliteOf(deps).messages.get(user.id, id)!.domainIds).toEqual([domain.id, two.id]);
      const other = await seedUserAndDomain(deps, 'other.test');
      expect(sqliteOf(deps).messages.list({ userId: other.user.id, domainId: two.id, limit: 5 })).toEqual([]);
      expect(sqliteOf(deps).domains.delete(user.id, two.id)).toBeTruthy();
      expect(sqliteOf(deps).messages.get(user.id, id)!.domainIds).toEqual([domain.id]);
    } finally {
      deps.cleanup();
    }
  });
});
