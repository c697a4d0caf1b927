import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DOMAIN_PATTERN_COST, MAX_ROUTES_PER_DOMAIN } from '../../src/api/route-input.js';
import { addDomain, markVerified, signup, testApi, type TestApi } from '../helpers/api.js';
import { newRoute, sqliteOf } from '../helpers/deps.js';
import { addRoute, hostileSmtp, RawClient, stillServes, type HostileSmtp } from './harness.js';

/**
 * Routing is synchronous CPU on the event loop that every SMTP session and API request
 * shares. The regex engine is linear, but linear in (input x pattern) times (routes x values x
 * recipients): a tenant's patterns and a sender's headers together must stay bounded.
 */

/** The longest the event loop went without running a 10 ms timer while `fn` ran. */
async function maxStall(fn: () => Promise<void>): Promise<number> {
  let worst = 0;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 10);
    last = now;
  }, 10);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return Math.max(worst, performance.now() - last - 10);
}

const WORST = '/(.*.*.*.*){60}z/'; // 17 characters, 722 instructions: the most work per character

describe("a sender against a tenant's costliest header filter", () => {
  let h: HostileSmtp;
  beforeAll(async () => {
    h = await hostileSmtp();
    await addRoute(h.deps, h.owner, { match: '*@example.com', action: 'store', priority: 1, filters: { header: { name: 'X-Tag', value: WORST } } });
    await addRoute(h.deps, h.owner, { match: '*@example.com', action: 'store', priority: 2, filters: { subject: WORST, from: '/(.*.*.*.*){60}q/' } });
  });
  afterAll(() => h.close());

  it('450 repeated 2 KB headers to 5 recipients: stored, the event loop never stalls for long', async () => {
    const tags = Array.from({ length: 450 }, () => `X-Tag: ${'a'.repeat(2000)}`).join('\r\n');
    const raw = `From: a@sender.test\r\nSubject: ${'a'.repeat(2000)}\r\n${tags}\r\n\r\nbody\r\n`;
    let reply = '';
    const stall = await maxStall(async () => {
      const c = await RawClient.open(h.port);
      await c.send('EHLO c.test\r\nMAIL FROM:<a@sender.test>\r\n');
      await c.until(/^250 .*Accepted/);
      for (const r of ['a', 'b', 'c', 'd', 'e']) await c.send(`RCPT TO:<${r}@example.com>\r\n`);
      await c.send('DATA\r\n');
      reply = await c.send(raw + '.\r\n', 20_000);
      c.destroy();
    });
    expect(reply).toMatch(/^250 /);
    expect(stall).toBeLessThan(1000);
    await stillServes(h);
  });
});

describe('per-domain limits on routes', () => {
  let api: TestApi;
  let token: string;
  let domainId: string;
  beforeAll(async () => {
    api = testApi();
    ({ token } = await signup(api));
    domainId = (await addDomain(api, token, 'example.com')).id;
    await markVerified(api, domainId);
  });
  afterAll(() => api.deps.cleanup());
  afterEach(() => api.deps.db.prepare('DELETE FROM routes').run());

  const create = (match: string, extra: Record<string, unknown> = {}) =>
    api.call('POST', '/api/routes', { token, body: { domain_id: domainId, match, action: 'store', ...extra } });

  it(`costly recipient patterns are refused with 409 once the domain's total passes ${MAX_DOMAIN_PATTERN_COST}`, async () => {
    let created = 0;
    let refused: Awaited<ReturnType<typeof create>> | undefined;
    for (let i = 0; i < 40 && !refused; i++) {
      const res = await create(`/(.*.*.*.*){60}${i}@example\\.com/`);
      if (res.status === 201) created++;
      else refused = res;
    }
    expect(created).toBeGreaterThan(5);
    expect(refused!.status).toBe(409);
    expect(refused!.body.error).toMatch(/^match: .*limit 10000/);
    // Exact addresses cost nothing and are still welcome.
    expect((await create('support@example.com')).status).toBe(201);
    // A disabled costly route can be stored, but not enabled while the domain is at its limit.
    const parked = await create('/(.*.*.*.*){60}parked@example\\.com/', { enabled: false });
    expect(parked.status).toBe(201);
    expect((await api.call('PATCH', `/api/routes/${parked.body.id}`, { token, body: { enabled: true } })).status).toBe(409);
  });

  it('at the limit, one RCPT that walks every pattern takes well under 250 ms of CPU', async () => {
    for (let i = 0; ; i++) if ((await create(`/(.*.*.*.*){60}${i}@example\\.com/`)).status !== 201) break;
    const { rcptDecision } = await import('../../src/route/match.js');
    const routes = await api.deps.repos.routes.enabledForDomain(domainId);
    const address = 'a'.repeat(250) + '@example.com';
    rcptDecision(routes, address, false); // compile once
    // CPU time, not wall time: other processes on a shared machine must not fail it. A
    // backtracking engine takes minutes here; RE2 takes milliseconds (bench/route-regex.ts).
    const t = process.cpuUsage();
    expect(rcptDecision(routes, address, false).accept).toBe(false);
    const { user, system } = process.cpuUsage(t);
    expect((user + system) / 1000).toBeLessThan(250);
  });

  it(`at most ${MAX_ROUTES_PER_DOMAIN} enabled routes per domain`, async () => {
    const { user } = (await api.call('GET', '/api/auth/me', { token })).body as { user: { id: string } };
    // Seeded through SQLite's statements in one transaction: a thousand commits would take long.
    const insert = api.deps.db!.transaction(() => {
      for (let i = 0; i < MAX_ROUTES_PER_DOMAIN; i++) {
        sqliteOf(api.deps).routes.insert(newRoute(api.deps, { userId: user.id, domainId }, { match: `u${i}@example.com` }));
      }
    });
    insert();
    const res = await create('one-more@example.com');
    expect(res.status).toBe(409);
    expect(res.body.error).toMatch(/at most 1000 enabled routes/);
  });
});
