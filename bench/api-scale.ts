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
 */
import { rmSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { createApp } from '../src/api/app.js';
import { createSession } from '../src/auth/sessions.js';
import { loadConfig } from '../src/config.js';
import { listQuery, type MessageListFilter } from '../src/db/messages.js';
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

/** The account's domains and the messages, straight into the tables. */
function seed(deps: Deps): { userId: string; domainIds: string[] } {
  const { user, domain } = seedUserAndDomain(deps, 'd0.bench.test');
  const domainIds = [domain.id];
  for (let d = 1; d < DOMAINS; d++) {
    const id = newId('dom');
    deps.repos.domains.insert({ ...domain, id, name: `d${d}.bench.test`, verificationToken: `tok${d}` });
    domainIds.push(id);
  }
  const insert = deps.db.prepare(
    `INSERT INTO messages (id, user_id, domain_id, mail_from, rcpt_to, helo, remote_ip, tls, from_address, from_name,
       subject, message_id, size, raw_key, parsed, auth, parse_error, received_at)
     VALUES (?, ?, ?, ?, ?, 'bench.client.test', '127.0.0.1', 0, ?, 'Bench Sender', ?, ?, 4096, ?, ?, '{}', NULL, ?)`,
  );
  const recipient = deps.db.prepare('INSERT INTO message_recipients (message_id, address, domain_id) VALUES (?, ?, ?)');
  const start = Date.now() - 30 * DAY;
  const step = (30 * DAY) / N;
  const text = 'The quick brown fox jumps over the lazy dog. '.repeat(10);
  deps.db.transaction(() => {
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
      if (i % 200_000 === 199_999) progress(`api at scale: ${i + 1} rows`);
    }
  })();
  return { userId: user.id, domainIds };
}

interface Query {
  name: string;
  path: string;
  /** What src/api/messages.ts passes to messages.list() for `path`. */
  filter: MessageListFilter;
}

export async function apiScale(): Promise<void> {
  const dir = benchDir('api');
  const config = loadConfig(benchEnv({ DATA_DIR: dir, HTTP_PORT: '0', SMTP_PORT: '0', PUBLIC_URL: 'http://127.0.0.1:3000' }));
  const deps = createDeps(config);
  try {
    const t = performance.now();
    const { userId, domainIds } = seed(deps);
    const seedSec = (performance.now() - t) / 1000;
    deps.db.pragma('optimize');
    progress(`api at scale: seeded ${N} messages in ${seedSec.toFixed(1)} s`);
    const app = createApp(deps);

    const dom = domainIds[42 % domainIds.length]!;
    const rare = domainIds[RARE]!;
    const lastCursor = (domainId: string | null) =>
      (
        deps.db
          .prepare(
            `SELECT id FROM messages WHERE user_id = ? AND (? IS NULL OR domain_id = ?) ORDER BY id ASC LIMIT 1 OFFSET ${LIMIT}`,
          )
          .get(userId, domainId, domainId) as { id: string }
      ).id;
    const base: MessageListFilter = { userId, limit: LIMIT + 1 };
    const queries: Query[] = [
      { name: 'first page, unfiltered', path: `/api/messages?limit=${LIMIT}`, filter: base },
      { name: `last page (${N.toLocaleString('en')} deep), unfiltered`, path: `/api/messages?limit=${LIMIT}&before=${lastCursor(null)}`, filter: { ...base, before: lastCursor(null) } },
      { name: 'first page, domain filter', path: `/api/messages?limit=${LIMIT}&domain_id=${dom}`, filter: { ...base, domainId: dom } },
      { name: `last page (${Math.round(N / (DOMAINS - 1)).toLocaleString('en')} deep), domain filter`, path: `/api/messages?limit=${LIMIT}&domain_id=${dom}&before=${lastCursor(dom)}`, filter: { ...base, domainId: dom, before: lastCursor(dom) } },
      { name: 'first page, filter on a domain with 0.1 % of the mail', path: `/api/messages?limit=${LIMIT}&domain_id=${rare}`, filter: { ...base, domainId: rare } },
      { name: 'first page, recipient filter (0.1 % of the mail)', path: `/api/messages?limit=${LIMIT}&recipient=${RARE_RECIPIENT}`, filter: { ...base, recipient: RARE_RECIPIENT } },
      { name: `first page, from filter (${+(100 / SENDERS).toPrecision(2)} % of the mail)`, path: `/api/messages?limit=${LIMIT}&from=${RARE_SENDER}`, filter: { ...base, from: RARE_SENDER } },
    ];

    // The API allows 600 calls a minute per credential: a fresh session every 500 calls.
    let token = createSession(deps, userId);
    let calls = 0;
    const call = async (path: string) => {
      if (++calls % 500 === 0) token = createSession(deps, userId);
      const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
      const body = (await res.json()) as { data: unknown[] };
      if (res.status !== 200 || body.data.length !== LIMIT) throw new Error(`${path}: ${res.status} ${JSON.stringify(body).slice(0, 200)}`);
    };

    const rows: Row[] = [];
    const plans: string[] = [];
    for (const q of queries) {
      const { sql, params } = listQuery(q.filter);
      const raw = deps.db.prepare(sql);
      for (let i = 0; i < WARMUP; i++) await call(q.path);
      const api: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        const s = performance.now();
        await call(q.path);
        api.push(performance.now() - s);
      }
      const direct: number[] = [];
      for (let i = 0; i < REQUESTS; i++) {
        const s = performance.now();
        raw.all(params);
        direct.push(performance.now() - s);
      }
      const p99 = quantile(api, 0.99);
      rows.push({
        scenario: `API GET /api/messages?limit=${LIMIT} ${q.name}: p50 / p99 (ms) vs the SQL alone`,
        mailhook: `${fmt(quantile(api, 0.5), 2)} / ${fmt(p99, 2)}`,
        baseline: `${fmt(quantile(direct, 0.5), 2)} / ${fmt(quantile(direct, 0.99), 2)}`,
        ratio: ratio(p99, quantile(direct, 0.99)),
        target: 'p99 ≤ 10 ms',
        met: p99 <= 10 ? 'met' : 'NOT MET',
      });
      const plan = deps.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(params) as { detail: string }[];
      plans.push(`EXPLAIN QUERY PLAN (${q.name}): ${plan.map((p) => p.detail).join(' | ')}`);
    }
    const unindexed = plans.some((p) => /SCAN (m|messages)\b(?! USING)|TEMP B-TREE/.test(p));
    report('API at scale', rows, [
      `${N.toLocaleString('en')} messages, ${DOMAINS} domains (one with 0.1 % of the mail), one account, warm page cache; seeded in ${seedSec.toFixed(1)} s; ${REQUESTS} requests per query after ${WARMUP} warm-up, through createApp(deps).request().`,
      ...plans,
      unindexed ? 'A plan scans a table or sorts in a temporary B-tree: see above.' : 'Every plan walks an index in id order (no table scan, no sort).',
    ]);
  } finally {
    deps.db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await guarded('API at scale', apiScale);
