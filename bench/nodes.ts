/**
 * `npm run bench:nodes` (DESIGN §10): what PostgreSQL + S3 cost and give, in the same run.
 * 1. Ingest, msg/s counted when the webhook arrived: one node on SQLite, one node on PostgreSQL,
 *    two nodes on PostgreSQL (the same load split over both SMTP ports), BENCH_NODES_MESSAGES
 *    (3,000) messages of 4 KiB over BENCH_NODES_CONNECTIONS (40) connections after a warm-up.
 * 2. The delivery queue's claim rate on PostgreSQL: BENCH_CLAIM_ROWS (6,000) due deliveries
 *    claimed by 8 concurrent claimers vs by one, each claimed exactly once; and the same with a
 *    one-statement SKIP LOCKED claim of the queue's head, for comparison (bench/lib/pg-claims.ts).
 * 0. At the repository, no processes: storeInbound and claim rates, PostgreSQL (one pool, two) vs
 *    SQLite (bench/lib/nodes-repository.ts).
 * 3. PostgreSQL's group commit: durable single-row commits one at a time vs from 16 connections
 *    at once vs 50-row INSERTs (bench/lib/pg-commit.ts).
 * PostgreSQL is a throwaway cluster (test/helpers/pg-cluster.ts, fsync on) on this machine, S3 is
 * s3rver; small blobs live in the database on both engines (INLINE_BLOB_BYTES default).
 */
import { startPgCluster, type PgCluster } from '../test/helpers/pg-cluster.js';
import { startS3Server, type S3Server } from '../test/helpers/s3-server.js';
import { benchRepository } from './lib/nodes-repository.js';
import { measureClaims } from './lib/pg-claims.js';
import { measureCommits } from './lib/pg-commit.js';
import { seedRoutes, startMailhook } from './lib/mailhook.js';
import { plainMessage } from './lib/messages.js';
import { startPgNodes } from './lib/nodes.js';
import { startReceiver, type Receiver } from './lib/receiver.js';
import { envInt, fmt, guarded, progress, ratio, report, type Row } from './lib/report.js';
import { runLoad } from './lib/smtp-client.js';

const N = envInt('BENCH_NODES_MESSAGES', 3000);
const CONNS = envInt('BENCH_NODES_CONNECTIONS', 40);
const WARMUP = envInt('BENCH_NODES_WARMUP', 500);
const CLAIM_ROWS = envInt('BENCH_CLAIM_ROWS', 6000);
const DOMAIN = 'bench.test';
/** BENCH_NODES_ONLY=repository,ingest,claims,commits runs a subset. */
const only = process.env.BENCH_NODES_ONLY?.split(',').map((x) => x.trim());
const wanted = (part: string) => !only || only.includes(part);
const rcpt = (seq: number) => `in${seq % 50}@${DOMAIN}`;

/** Sends `count` messages split evenly over `ports` (the connections too); returns how many got a 250 and when the load started. */
async function load(ports: number[], from: number, count: number) {
  const per = Math.ceil(count / ports.length);
  const runs = await Promise.all(
    ports.map((port, i) =>
      runLoad({
        port,
        connections: Math.max(1, Math.round(CONNS / ports.length)),
        messages: Math.min(per, count - i * per),
        message: (s) => plainMessage(from + i * per + s, rcpt(s), 4096),
        rcptTo: rcpt,
        timeoutMs: 300_000,
      }),
    ),
  );
  for (const r of runs) if (r.errors.length) console.error('  client errors:', r.errors.slice(0, 3));
  return { accepted: runs.reduce((n, r) => n + r.accepted, 0), startedAt: Math.min(...runs.map((r) => r.startedAt)) };
}

/** Warm-up, then the measured load; msg/s = webhooks arrived / (last arrival − first MAIL). */
async function measure(ports: number[], receiver: Receiver): Promise<number> {
  if (WARMUP) {
    const w = await load(ports, 1_000_000, WARMUP);
    await receiver.waitFor(w.accepted, 120_000);
  }
  const before = receiver.firstAt.size;
  const r = await load(ports, 0, N);
  await receiver.waitFor(before + r.accepted, 180_000);
  let last = 0;
  let delivered = 0;
  for (const [seq, at] of receiver.firstAt) {
    if (typeof seq !== 'number' || seq >= 1_000_000) continue;
    delivered++;
    last = Math.max(last, at);
  }
  if (delivered < r.accepted) console.error(`  only ${delivered} of ${r.accepted} webhooks arrived`);
  return delivered ? (delivered / (last - r.startedAt)) * 1000 : 0;
}

async function sqliteNode(): Promise<number> {
  const receiver = await startReceiver();
  const mh = await startMailhook('nodes-sqlite', (deps) => seedRoutes(deps, DOMAIN, [receiver.url]));
  try {
    return await measure([mh.smtpPort], receiver);
  } finally {
    await mh.stop();
    await receiver.close();
  }
}

async function pgNodes(cluster: PgCluster, s3: S3Server, count: number): Promise<number> {
  const receiver = await startReceiver();
  const url = await cluster.createDatabase(`bench_nodes${count}`);
  const nodes = await startPgNodes(count, { ...s3.env, DATABASE_URL: url }, (deps) => seedRoutes(deps, DOMAIN, [receiver.url]));
  try {
    return await measure(nodes.map((n) => n.smtpPort), receiver);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
    await receiver.close();
  }
}

async function main(): Promise<void> {
  if (wanted('repository')) await benchRepository();
  progress('starting a PostgreSQL cluster and s3rver');
  const cluster = await startPgCluster();
  const s3 = await startS3Server('mailhook-bench');
  try {
    if (wanted('ingest')) await guarded('several nodes: ingest', async () => {
      progress('ingest: one node on SQLite');
      const sqlite = await sqliteNode();
      progress('ingest: one node on PostgreSQL');
      const pg1 = await pgNodes(cluster, s3, 1);
      progress('ingest: two nodes on PostgreSQL');
      const pg2 = await pgNodes(cluster, s3, 2);
      const rows: Row[] = [
        { scenario: `ingest ${N}×4 KiB, ${CONNS} conns (msg/s, webhook arrived): 1 node PostgreSQL vs 1 node SQLite`, mailhook: fmt(pg1), baseline: fmt(sqlite), ratio: ratio(pg1, sqlite), target: 'printed', met: '—' },
        { scenario: 'ingest: 2 nodes PostgreSQL vs 1 node PostgreSQL', mailhook: fmt(pg2), baseline: fmt(pg1), ratio: ratio(pg2, pg1), target: 'printed', met: '—' },
        { scenario: 'ingest: 2 nodes PostgreSQL vs 1 node SQLite', mailhook: fmt(pg2), baseline: fmt(sqlite), ratio: ratio(pg2, sqlite), target: 'printed', met: '—' },
      ];
      report('Several nodes: ingest', rows, [
        'All on one machine: the nodes, PostgreSQL, s3rver, the load client and the receiver share its cores, so a second node adds',
        'no CPU; it shows the cost of coordination (claims racing on one queue), not the gain of a second machine.',
      ]);
    });

    if (wanted('claims')) await guarded('several nodes: queue claims', async () => {
      progress('claims: 1 and 8 concurrent claimers on PostgreSQL');
      const url = await cluster.createDatabase('bench_claims');
      const ours = await measureClaims(url, { rows: CLAIM_ROWS, claimers: [1, 8] });
      const head = await measureClaims(url, { rows: CLAIM_ROWS, claimers: [1, 8], head: true });
      const [one, eight] = [ours.get(1)!, ours.get(8)!];
      const [headOne, headEight] = [head.get(1)!, head.get(8)!];
      const once = (f: typeof one) => f.duplicates === 0 && f.claimed === CLAIM_ROWS;
      report('Several nodes: queue claims on PostgreSQL', [
        { scenario: `claims/s, 8 concurrent claimers vs 1 (${CLAIM_ROWS} due deliveries, one destination, batches of ${one.batch})`, mailhook: fmt(eight.rate), baseline: fmt(one.rate), ratio: ratio(eight.rate, one.rate), target: 'each once', met: once(eight) && once(one) ? 'met' : 'NOT MET' },
        { scenario: 'claims/s, 8 claimers: Mailhook (dueFor + claim) vs one-statement SKIP LOCKED head claim', mailhook: fmt(eight.rate), baseline: fmt(headEight.rate), ratio: ratio(eight.rate, headEight.rate), target: 'printed', met: '—' },
        { scenario: 'claims/s, one-statement head claim: 8 claimers vs 1', mailhook: fmt(headEight.rate), baseline: fmt(headOne.rate), ratio: ratio(headEight.rate, headOne.rate), target: 'printed', met: '—' },
      ], [
        `Mailhook: 8 claimers ${eight.claimed} claimed, ${eight.duplicates} twice. Each claim is one durable commit (lease + attempt rows).`,
        'Limit: every claimer reads the same head of the queue (dueFor) and then races to claim it; SKIP LOCKED makes the losers come back',
        'empty-handed, so 8 claimers claim about as fast as one. Locking the rows in the read (the head claim) lets them take disjoint rows.',
      ]);
    });

    if (wanted('commits')) await guarded('several nodes: PostgreSQL commits', async () => {
      progress('PostgreSQL commits: serial, concurrent, multi-row');
      const url = await cluster.createDatabase('bench_commits');
      const g = await measureCommits(url, { rows: envInt('BENCH_COMMIT_ROWS', 2000), connections: 16, batch: 50 });
      report('Several nodes: PostgreSQL group commit, measured', [
        { scenario: `durable 1-row commits/s, ${g.connections} connections at once vs one at a time`, mailhook: fmt(g.concurrent), baseline: fmt(g.serial), ratio: ratio(g.concurrent, g.serial), target: 'printed', met: '—' },
        { scenario: `rows/s, ${g.batch}-row INSERT per commit vs 1-row commits one at a time`, mailhook: fmt(g.multiRow), baseline: fmt(g.serial), ratio: ratio(g.multiRow, g.serial), target: 'printed', met: '—' },
        { scenario: 'ceiling, not used: synchronous_commit=off vs on, one at a time', mailhook: fmt(g.asyncCommit), baseline: fmt(g.serial), ratio: ratio(g.asyncCommit, g.serial), target: 'printed', met: '—' },
      ], ['synchronous_commit=on, fsync on, 4 KiB rows: concurrent commits share WAL flushes, which is PostgreSQL\'s group commit.']);
    });
  } finally {
    await s3.close();
    cluster.stop();
  }
}

await main();
