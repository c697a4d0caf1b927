import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { openPgRepository } from '../../src/db/pg/repository.js';

/**
 * The delivery queue's claim rate on PostgreSQL, as the nodes claim: each claimer is a node of
 * its own (its own repository and pool) running the worker's two steps in a loop — read up to
 * `batch` due rows of the destination (dueFor), claim them (claim: FOR UPDATE SKIP LOCKED, lease,
 * attempt rows, one durable commit) — until nothing is due. One destination: every claimer reads
 * the same head of the queue, the worst case for contention. Each row must be claimed once.
 */
export interface ClaimFigures {
  rate: number;
  claimed: number;
  duplicates: number;
  batch: number;
}

const DEST = 'http://127.0.0.1:9';

async function seed(url: string, rows: number): Promise<void> {
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  try {
    await db.query('TRUNCATE users CASCADE');
    await db.query(`INSERT INTO users (id, email, created_at) VALUES ('usr_bench', 'bench@bench.test', 0)`);
    await db.query(`INSERT INTO domains (id, user_id, name, status, verification_token, created_at) VALUES ('dom_bench', 'usr_bench', 'bench.test', 'verified', 'tok', 0)`);
    await db.query(`INSERT INTO messages (id, user_id, domain_id, mail_from, rcpt_to, helo, remote_ip, tls, size, raw_key, parsed, received_at)
      VALUES ('msg_bench', 'usr_bench', 'dom_bench', '', '[]', '', '', 0, 0, 'raw', '{}', 0)`);
    await db.query(
      `INSERT INTO deliveries (id, user_id, message_id, domain_id, url, secret, dest, status, attempts, next_attempt_at, created_at, updated_at)
       SELECT 'dlv_bench_' || lpad(g::text, 8, '0'), 'usr_bench', 'msg_bench', 'dom_bench', $2 || '/hook', 'whsec_x', $2, 'pending', 0, g, 0, 0
       FROM generate_series(1, $1) g`,
      [rows, DEST],
    );
  } finally {
    await db.end();
  }
}

/**
 * For comparison, not Mailhook's code: the read and the claim in one statement, each claimer
 * locking the first due rows no other claimer holds (SELECT … FOR UPDATE SKIP LOCKED LIMIT n), so
 * concurrent claimers take disjoint rows instead of racing for the same head of the queue.
 */
async function runHeadClaim(url: string, rows: number, claimers: number, batch: number): Promise<ClaimFigures> {
  const pools = await Promise.all(Array.from({ length: claimers }, () => openPgRepository(url, { max: 2 })));
  await Promise.all(pools.map((p) => p.close()));
  await seed(url, rows);
  const clients = await Promise.all(
    Array.from({ length: claimers }, async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      return c;
    }),
  );
  const seen = new Map<string, number>();
  try {
    const now = Date.now();
    const t0 = performance.now();
    await Promise.all(
      clients.map(async (c) => {
        for (;;) {
          await c.query('BEGIN');
          const r = await c.query<{ id: string }>(
            `UPDATE deliveries d SET attempts = d.attempts + 1, next_attempt_at = $4, updated_at = $2
             FROM (SELECT id FROM deliveries WHERE status = 'pending' AND dest = $1 AND next_attempt_at <= $2
                   ORDER BY next_attempt_at LIMIT $3 FOR UPDATE SKIP LOCKED) due
             WHERE d.id = due.id RETURNING d.id`,
            [DEST, now, batch, now + 60_000],
          );
          const ids = r.rows.map((x) => x.id);
          if (ids.length) await c.query('INSERT INTO delivery_attempts (delivery_id, started_at) SELECT unnest($1::text[]), $2', [ids, now]);
          await c.query('COMMIT');
          if (!ids.length) return;
          for (const id of ids) seen.set(id, (seen.get(id) ?? 0) + 1);
        }
      }),
    );
    const ms = performance.now() - t0;
    const claimed = [...seen.values()].reduce((a, b) => a + b, 0);
    return { rate: (claimed / ms) * 1000, claimed: seen.size, duplicates: claimed - seen.size, batch };
  } finally {
    await Promise.all(clients.map((c) => c.end()));
  }
}

async function run(url: string, rows: number, claimers: number, batch: number): Promise<ClaimFigures> {
  // Opening migrates the database (under its lock); then the queue is filled.
  const repos = await Promise.all(Array.from({ length: claimers }, () => openPgRepository(url, { max: 2 })));
  await seed(url, rows);
  const seen = new Map<string, number>();
  try {
    const now = Date.now();
    const t0 = performance.now();
    await Promise.all(
      repos.map(async (r) => {
        for (;;) {
          const due = await r.deliveries.dueFor(DEST, now, batch);
          if (!due.length) return;
          const claimed = await r.deliveries.claim(due.map((d) => d.id), now, now + 60_000);
          for (const c of claimed) seen.set(c.delivery.id, (seen.get(c.delivery.id) ?? 0) + 1);
        }
      }),
    );
    const ms = performance.now() - t0;
    const claimed = [...seen.values()].reduce((a, b) => a + b, 0);
    return { rate: (claimed / ms) * 1000, claimed: seen.size, duplicates: claimed - seen.size, batch };
  } finally {
    await Promise.all(repos.map((r) => r.close()));
  }
}

/** Claim figures per number of concurrent claimers, each run on a freshly seeded queue of `rows`; `head`: the one-statement claim instead of Mailhook's. */
export async function measureClaims(
  url: string,
  opts: { rows: number; claimers: number[]; batch?: number; head?: boolean },
): Promise<Map<number, ClaimFigures>> {
  const out = new Map<number, ClaimFigures>();
  for (const n of opts.claimers) out.set(n, await (opts.head ? runHeadClaim : run)(url, opts.rows, n, opts.batch ?? 8));
  return out;
}
