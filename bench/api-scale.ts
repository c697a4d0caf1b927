/**
 * Scenario 4, API at scale: BENCH_API_MESSAGES (1,000,000) stored messages of one account
 * across 100 domains (evenly, received over 30 days), inserted with prepared statements in one
 * transaction. Then GET /api/messages?limit=50 through the Hono app's app.request() (no
 * socket): the first page and the last page (a million rows deep, via the cursor), unfiltered
 * and filtered by domain, and first pages filtered by recipient and by sender. Figure: p50/p99
 * of BENCH_API_REQUESTS (200) requests each, after a warm-up. Baseline: the repository's own
 * SQL for the same filters (listQuery() in src/db/messages.ts) run straight on better-sqlite3
 * (no HTTP, no JSON), so the ratio is the API layer's cost. Its EXPLAIN QUERY PLAN is printed.
 * One of the 100 domains gets 0.1 % of the mail, the others share the rest: filtering on it
 * (or on its one recipient, or on one of 5,000 senders) shows what the plan costs when the
 * filter is selective.
 *
 * Each message also has one delivery (seedDeliveries()): by its domain's webhook route (one
 * route per domain, so the rare domain's route is the rare route), or for one in seven by the
 * domain's catch-all (route_id NULL); 0.1 % failed, 1 % pending, the rest delivered. Then
 * GET /api/deliveries?limit=50: first and last page, by status, by an old message, by the rare
 * route, and with API keys (deliveries:read) restricted to the rare domain and to a busy one.
 * Baseline: the repository's list() straight on the database (no HTTP, no JSON); the plan
 * printed is that of the list statement it runs (deliveryListQuery() in src/db/deliveries.ts).
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/api/app.js';
import { createApiKey } from '../src/auth/api-keys.js';
import { createSession } from '../src/auth/sessions.js';
import { loadConfig } from '../src/config.js';
import { deliveryListQuery, SMALL_DOMAIN, type DeliveryListFilter } from '../src/db/deliveries-list.js';
import { listQuery, type MessageListFilter } from '../src/db/messages.js';
import { sqliteTables } from '../src/db/sqlite-tables.js';
import { createDeps, type Deps } from '../src/deps.js';
import { newId } from '../src/ids.js';
import { seedUserAndDomain } from '../test/helpers/deps.js';
import { benchDir, benchEnv } from './lib/mailhook.js';
import { envInt, fmt, guarded, progress, quantile, ratio, report, type Row } from './lib/report.js';

const N = envInt('BENCH_API_MESSAGES', 1_000_000);
const DOMAINS = 100;
const REQUESTS = envInt('BENCH_API_REQUESTS', 200);
const WARMUP = 20;
const LIMIT = 50;
const DAY = 86_400_000;
const RARE = DOMAINS - 1;
/** Every message of the rare domain goes to this address; each sender sends 1 in 5,000 messages. */
const RARE_RECIPIENT = `user0@d${RARE}.bench.test`;
const RARE_SENDER = 'sender7@example.org';
/** 5,000 senders (0.02 % of a million messages each), fewer for small runs: a page needs 50 of one. */
const SENDERS = Math.max(8, Math.min(5000, Math.floor(N / 200)));

interface Seeded {
  userId: string;
  domainIds: string[];
  /** routeIds[d]: domain d's webhook route. */
  routeIds: string[];
  /** The first message stored. */
  oldMessageId: string;
}

/** The account's domains, routes, messages and deliveries, straight into the tables. */
async function seed(deps: Deps): Promise<Seeded> {
  const { user, domain } = await seedUserAndDomain(deps, 'd0.bench.test');
  const domainIds = [domain.id];
  for (let d = 1; d < DOMAINS; d++) {
    const id = newId('dom');
    await deps.repos.domains.insert({ ...domain, id, name: `d${d}.bench.test`, verificationToken: `tok${d}` });
    domainIds.push(id);
  }
  const created = Date.now() - 31 * DAY;
  const route = deps.db!.prepare(
    `INSERT INTO routes (id, user_id, domain_id, match, action, destination, secret, priority, stop, enabled, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'webhook', ?, 'whsec_bench', 100, 0, 1, ?, ?)`,
  );
  const routeIds = domainIds.map((domainId, d) => {
    const id = newId('rte', created);
    route.run(id, user.id, domainId, `*@d${d}.bench.test`, `https://hook${d % 10}.bench.test/in`, created, created);
    return id;
  });
  const insert = deps.db!.prepare(
    `INSERT INTO messages (id, user_id, domain_id, mail_from, rcpt_to, helo, remote_ip, tls, from_address, from_name,
       subject, message_id, size, raw_key, parsed, auth, parse_error, received_at)
     VALUES (?, ?, ?, ?, ?, 'bench.client.test', '127.0.0.1', 0, ?, 'Bench Sender', ?, ?, 4096, ?, ?, '{}', NULL, ?)`,
  );
  const recipient = deps.db!.prepare('INSERT INTO message_recipients (message_id, address, domain_id) VALUES (?, ?, ?)');
  let oldMessageId = '';
  const start = Date.now() - 30 * DAY;
  const step = (30 * DAY) / N;
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(10);
  deps.db!.transaction(() => {
    for (let i = 0; i < N; i++) {
      const at = Math.floor(start + i * step);
      const id = newId('msg', at);
      // One domain gets 0.1 % of the mail (a quiet domain next to busy ones); the rest share evenly.
      const d = i % 1000 === 0 ? RARE : i % (DOMAINS - 1);
      const to = `user${i % 1000}@d${d}.bench.test`;
      const from = `sender${i % SENDERS}@example.org`;
      const subject = `Order ${i} confirmation`;
      const parsed = JSON.stringify({
        from: { address: from, name: 'Bench Sender' },
        to: [{ address: to, name: '' }],
        cc: [],
        replyTo: [],
        subject,
        date: at,
        messageId: `<${i}@example.org>`,
        inReplyTo: '',
        references: [],
        headers: [{ name: 'Subject', value: subject }],
        text,
        html: '',
        attachments: [],
      });
      insert.run(id, user.id, domainIds[d], from, JSON.stringify([to]), from, subject, `<${i}@example.org>`, `msg/${id}/raw.eml`, parsed, at);
      recipient.run(id, to, domainIds[d]);
      if (i === 0) oldMessageId = id;
      if (i % 200_000 === 199_999) progress(`api at scale: ${i + 1} rows`);
    }
  })();
  seedDeliveries(deps);
  return { userId: user.id, domainIds, routeIds, oldMessageId };
}

/**
 * One delivery per message, by its domain's route or for one in seven (i % 7 = 3) its catch-all;
 * 0.1 % failed (i % 1000 = 500), 1 % pending (i % 100 = 37). One INSERT … SELECT over the messages
 * (message i is rowid i + 1), then the deliveries' indexes, one sort each rather than a million
 * inserts into each. On this VM it is bound by the writes to the WAL: ~20 s a million.
 */
function seedDeliveries(deps: Deps): void {
  const indexes = deps.db!
    .prepare<[], { name: string; sql: string }>("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'deliveries' AND sql IS NOT NULL")
    .all();
  for (const i of indexes) deps.db!.exec(`DROP INDEX ${i.name}`);
  // The message's id with the delivery's prefix: unique, and ordered as the messages are.
  deps.db!.exec(`
    INSERT INTO deliveries (id, user_id, message_id, route_id, domain_id, url, secret, dest, status, attempts, next_attempt_at, last_status, created_at, updated_at)
    SELECT 'dlv_' || substr(m.id, 5), m.user_id, m.id,
      IIF(m.catchall, NULL, r.id), m.domain_id, replace(r.destination, '/in', IIF(m.catchall, '/all', '/in')), 'whsec_bench',
      replace(r.destination, '/in', ''), m.status,
      CASE m.status WHEN 'failed' THEN 8 ELSE 1 END, IIF(m.status = 'pending', m.received_at + 60000, NULL),
      CASE m.status WHEN 'failed' THEN 500 WHEN 'pending' THEN 503 ELSE 200 END, m.received_at, m.received_at
    FROM (SELECT id, user_id, domain_id, received_at, (rowid - 1) % 7 = 3 AS catchall,
            CASE WHEN (rowid - 1) % 1000 = 500 THEN 'failed' WHEN (rowid - 1) % 100 = 37 THEN 'pending' ELSE 'delivered' END AS status
          FROM messages) m
    JOIN routes r ON r.domain_id = m.domain_id`);
  for (const i of indexes) deps.db!.exec(i.sql);
}

interface Query {
  /** The row's scenario. */
  name: string;
  path: string;
  /** Rows a page must hold. */
  expect: number;
  /** An API key's secret, else a session's. */
  key?: () => Promise<string>;
  /** The same page straight from the repository. */
  direct: () => unknown;
  /** The SQL, for EXPLAIN QUERY PLAN. */
  query: { sql: string; params: Record<string, unknown> };
}

export async function apiScale(): Promise<void> {
  const dir = benchDir('api');
  const config = loadConfig(benchEnv({ DATA_DIR: dir, HTTP_PORT: '0', SMTP_PORT: '0', PUBLIC_URL: 'http://127.0.0.1:3000' }));
  const deps = createDeps(config);
  // The direct baseline is SQLite's own statements, without the repository's promise around them.
  const tables = sqliteTables(deps.db!);
  try {
    const t = performance.now();
    const { userId, domainIds, routeIds, oldMessageId } = await seed(deps);
    const seedSec = (performance.now() - t) / 1000;
    deps.db!.pragma('optimize');
    progress(`api at scale: seeded ${N} messages and deliveries in ${seedSec.toFixed(1)} s`);
    const app = createApp(deps);

    const dom = domainIds[42 % domainIds.length]!;
    const rare = domainIds[RARE]!;
    const lastCursor = (domainId: string | null) =>
      (
        deps.db!
          .prepare(
            `SELECT id FROM messages WHERE user_id = ? AND (? IS NULL OR domain_id = ?) ORDER BY id ASC LIMIT 1 OFFSET ${LIMIT}`,
          )
          .get(userId, domainId, domainId) as { id: string }
      ).id;
    const message = (name: string, path: string, filter: MessageListFilter): Query => {
      const query = listQuery(filter);
      const raw = deps.db!.prepare(query.sql);
      return { name: `GET /api/messages?limit=${LIMIT} ${name}`, path: `/api/messages?limit=${LIMIT}${path}`, expect: LIMIT, direct: () => raw.all(query.params), query };
    };
    const recipients = (domainId: string) =>
      (deps.db!.prepare('SELECT count(*) AS n FROM message_recipients WHERE domain_id = ?').get(domainId) as { n: number }).n;
    // An API key restricted to the domain, for one query: a fresh one every 500 calls (the rate limit).
    const keyFor = (domainId: string) => {
      let secret = '';
      let uses = 0;
      return async () => {
        if (uses++ % 500 === 0) secret = (await createApiKey(deps, { userId, name: 'bench', scopes: ['deliveries:read'], domainId })).secret;
        return secret;
      };
    };
    const delivery = (name: string, path: string, filter: Omit<DeliveryListFilter, 'userId' | 'limit'>, opts: { domainId?: string; expect?: number } = {}): Query => {
      const f = { ...filter, userId, limit: LIMIT + 1 };
      const { domainId } = opts;
      return {
        name: `GET /api/deliveries?limit=${LIMIT} ${name}`,
        path: `/api/deliveries?limit=${LIMIT}${path}`,
        expect: opts.expect ?? LIMIT,
        key: domainId ? keyFor(domainId) : undefined,
        direct: domainId ? () => tables.domainDeliveries.list({ ...f, domainId }) : () => tables.deliveries.list(f),
        query: deliveryListQuery({ ...f, domainId, smallDomain: domainId !== undefined && recipients(domainId) < SMALL_DOMAIN }),
      };
    };
    const lastDelivery = (
      deps.db!.prepare(`SELECT id FROM deliveries WHERE user_id = ? ORDER BY id ASC LIMIT 1 OFFSET ${LIMIT}`).get(userId) as { id: string }
    ).id;
    const rareRoute = routeIds[RARE]!;
    const queries: Query[] = [
      message('first page, unfiltered', '', { userId, limit: LIMIT + 1 }),
      message(`last page (${N.toLocaleString('en')} deep), unfiltered`, `&before=${lastCursor(null)}`, { userId, limit: LIMIT + 1, before: lastCursor(null) }),
      message('first page, domain filter', `&domain_id=${dom}`, { userId, limit: LIMIT + 1, domainId: dom }),
      message(`last page (${Math.round(N / (DOMAINS - 1)).toLocaleString('en')} deep), domain filter`, `&domain_id=${dom}&before=${lastCursor(dom)}`, { userId, limit: LIMIT + 1, domainId: dom, before: lastCursor(dom) }),
      message('first page, filter on a domain with 0.1 % of the mail', `&domain_id=${rare}`, { userId, limit: LIMIT + 1, domainId: rare }),
      message('first page, recipient filter (0.1 % of the mail)', `&recipient=${RARE_RECIPIENT}`, { userId, limit: LIMIT + 1, recipient: RARE_RECIPIENT }),
      message(`first page, from filter (${+(100 / SENDERS).toPrecision(2)} % of the mail)`, `&from=${RARE_SENDER}`, { userId, limit: LIMIT + 1, from: RARE_SENDER }),
      delivery('first page, unfiltered', '', {}),
      delivery(`last page (${N.toLocaleString('en')} deep), unfiltered`, `&before=${lastDelivery}`, { before: lastDelivery }),
      delivery('first page, status=failed (0.1 %)', '&status=failed', { status: 'failed' }),
      delivery('first page, status=pending (1 %)', '&status=pending', { status: 'pending' }),
      delivery('message_id of the oldest message (1 delivery)', `&message_id=${oldMessageId}`, { messageId: oldMessageId }, { expect: 1 }),
      delivery('first page, route_id of a route with 0.1 %', `&route_id=${rareRoute}`, { routeId: rareRoute }),
      delivery('first page, key restricted to a 0.1 % domain', '', {}, { domainId: rare }),
      delivery(`first page, key restricted to a ${+(100 / (DOMAINS - 1)).toPrecision(2)} % domain`, '', {}, { domainId: dom }),
    ];

    // The API allows 600 calls a minute per credential: a fresh session every 500 calls.
    let token = await createSession(deps, userId);
    let calls = 0;
    const call = async (q: Query) => {
      if (++calls % 500 === 0) token = await createSession(deps, userId);
      const res = await app.request(q.path, { headers: { authorization: `Bearer ${(await q.key?.()) ?? token}` } });
      const body = (await res.json()) as { data: unknown[] };
      if (res.status !== 200 || body.data.length !== q.expect) throw new Error(`${q.path}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    };

    const rows: Row[] = [];
    const plans: string[] = [];
    for (const q of queries) {
      for (let i = 0; i < WARMUP; i++) await call(q);
      const api: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        const s = performance.now();
        await call(q);
        api.push(performance.now() - s);
      }
      const direct: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        const s = performance.now();
        q.direct();
        direct.push(performance.now() - s);
      }
      const p99 = quantile(api, 0.99);
      rows.push({
        scenario: `API ${q.name}: p50 / p99 (ms) vs the ${q.name.includes('deliveries') ? 'list()' : 'SQL'} alone`,
        mailhook: `${fmt(quantile(api, 0.5), 2)} / ${fmt(p99, 2)}`,
        baseline: `${fmt(quantile(direct, 0.5), 2)} / ${fmt(quantile(direct, 0.99), 2)}`,
        ratio: ratio(p99, quantile(direct, 0.99)),
        target: 'p99 ≤ 10 ms',
        met: p99 <= 10 ? 'met' : 'NOT MET',
      });
      const plan = deps.db!.prepare(`EXPLAIN QUERY PLAN ${q.query.sql}`).all(q.query.params) as { detail: string }[];
      plans.push(`EXPLAIN QUERY PLAN (${q.name}): ${plan.map((p) => p.detail).join(' | ')}`);
    }
    // A key restricted to a small domain sorts that domain's deliveries, by design (deliveryListQuery()).
    const unindexed = plans.some((p) => /SCAN (m|d|messages|deliveries)\b(?! USING)/.test(p) || (/TEMP B-TREE/.test(p) && !p.includes('CO-ROUTINE dm')));
    report('API at scale', rows, [
      `${N.toLocaleString('en')} messages and as many deliveries, ${DOMAINS} domains (one with 0.1 % of the mail) with a route each, one account, warm page cache; seeded in ${seedSec.toFixed(1)} s; ${REQUESTS} requests per query after ${WARMUP} warm-up, through createApp(deps).request().`,
      ...plans,
      unindexed
        ? 'A plan scans a table or sorts in a temporary B-tree: see above.'
        : `Every plan walks an index in id order (no table scan, no sort), but a key restricted to a domain with under ${SMALL_DOMAIN.toLocaleString('en')} recipients: that domain's deliveries, sorted.`,
    ]);
  } finally {
    deps.db!.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('API at scale', apiScale);
