import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OUTBOUND_QUEUE_SQL } from '../../src/db/outbound-queue.js';
import { newId } from '../../src/ids.js';
import { engine, seedUserAndDomain, sqliteOf, testDeps, type TestDeps } from '../helpers/deps.js';

const T0 = Date.UTC(2026, 11, 7);

/**
 * The outbound pass's reads on SQLite (issue 12): pendingDestinations seeks from one destination
 * to the next in send_recipients_due instead of reading every pending row, and answers what the
 * GROUP BY it replaced answered.
 */
describe.skipIf(engine !== 'sqlite')('outbound queue reads', () => {
  let deps: TestDeps;
  beforeEach(() => {
    deps = testDeps();
  });
  afterEach(() => deps.cleanup());

  const planOf = (sql: string, params: Record<string, unknown> = {}) =>
    (deps.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[]).map((r) => r.detail);

  async function seed(sends: number, dests: number) {
    const { user, domain } = await seedUserAndDomain(deps, 'example.com');
    const t = sqliteOf(deps);
    deps.db.transaction(() => {
      for (let i = 0; i < sends; i++) {
        const id = newId('snd', T0 + i);
        t.sends.insert(
          {
            id,
            userId: user.id,
            domainId: domain.id,
            kind: 'send',
            sourceMessageId: null,
            routeId: null,
            fromAddress: 'a@example.com',
            subject: 's',
            messageId: `<${id}@example.com>`,
            mailFrom: `bounce+${id}@example.com`,
            createdAt: T0,
            raw: Buffer.from('x'),
            recipients: [0, 1, 2].map((k) => ({ id: newId('rcp', T0 + i), address: `r${k}@d${(i + k) % dests}.test`, dest: `d${(i + k) % dests}.test`, suppressed: false })),
          },
          T0,
        );
      }
      // Some final (sent), some leased into the future, the rest due at scattered times: by rowid,
      // so that every seed (even one send's three rows) has rows of each kind.
      deps.db.exec(`UPDATE send_recipients SET next_attempt_at = CASE rowid % 3
        WHEN 0 THEN NULL WHEN 1 THEN ${T0} + 600000 ELSE ${T0} + (rowid * 7919) % 1000 END`);
    })();
  }

  it.each([
    [1, 1],
    [300, 1],
    [300, 7],
    [400, 250],
  ])('pendingDestinations answers as GROUP BY did (%i sends, %i destinations)', async (sends, dests) => {
    await seed(sends, dests);
    const grouped = deps.db
      .prepare('SELECT dest, MIN(next_attempt_at) AS nextAt FROM send_recipients WHERE next_attempt_at IS NOT NULL GROUP BY dest ORDER BY dest')
      .all();
    const found = sqliteOf(deps).outbound.pendingDestinations();
    expect(found).toEqual(grouped);
    expect(found.length).toBeGreaterThan(0);
  });

  it('nothing pending: no destination', () => {
    expect(sqliteOf(deps).outbound.pendingDestinations()).toEqual([]);
  });

  it.each([false, true])('pendingDestinations and dueFor seek in send_recipients_due, never read it through (ANALYZEd: %s)', async (analyzed) => {
    await seed(300, 3);
    if (analyzed) deps.db.exec('ANALYZE');
    const plan = planOf(OUTBOUND_QUEUE_SQL.pendingDestinations);
    expect(plan.filter((d) => d.includes('send_recipients'))).toEqual([
      'SEARCH send_recipients USING COVERING INDEX send_recipients_due',
      'SEARCH r USING COVERING INDEX send_recipients_due (dest>?)',
      'SEARCH r USING COVERING INDEX send_recipients_due (dest=? AND next_attempt_at>?)',
    ]);
    expect(planOf(OUTBOUND_QUEUE_SQL.dueFor, { dest: 'x', now: 1, limit: 1 })).toEqual([
      'SEARCH send_recipients USING INDEX send_recipients_due (dest=? AND next_attempt_at>? AND next_attempt_at<?)',
    ]);
  });
});
