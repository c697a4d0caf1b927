// Part of `npm run bench:nodes` (bench/nodes.ts, issue 15): the PostgreSQL engine against SQLite, at the repository, same
// load, same run. (1) Storing SMTP transactions (storeInbound: a message, its inline raw blob, a
// recipient, 2 deliveries) from 32 concurrent senders: SQLite's group commit vs PostgreSQL's
// concurrent commits (synchronous_commit=on, fsync on) through one node's pool, then two nodes'.
// (2) The queue's claim rate: 8 concurrent claimers (dueFor + claim) draining the same backlog.
// PostgreSQL runs in a throwaway cluster on this machine (test/helpers/pg-cluster.ts).
// Knobs: BENCH_NODES_MESSAGES, BENCH_NODES_BACKLOG (BENCH_NODES_ONLY=repository runs only this part).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDb } from '../../src/db/open.js';
import { lazyPgRepository } from '../../src/db/pg/lazy.js';
import type { InboundCopy, Repository } from '../../src/db/repository.js';
import { createSqliteRepository } from '../../src/db/sqlite-repository.js';
import { newId } from '../../src/ids.js';
import { emptyParsed } from '../../src/parse/parse-message.js';
import { startPgCluster } from '../../test/helpers/pg-cluster.js';
import { envInt, fmt, guarded, ratio, report } from './report.js';

const MESSAGES = envInt('BENCH_NODES_MESSAGES', 3000);
const BACKLOG = envInt('BENCH_NODES_BACKLOG', 4000);
const SENDERS = 32;
const CLAIMERS = 8;
const DESTS = 16;

async function seed(repo: Repository) {
  const user = await repo.users.insert({ id: newId('usr'), email: `${newId('usr')}@bench.test`, passwordHash: null, googleSub: null, createdAt: 0 });
  const domain = { id: newId('dom'), userId: user.id, name: `${newId('dom')}.test`, status: 'pending' as const, verificationToken: 't', verifiedAt: null, webhookUrl: null, webhookSecret: null, createdAt: 0 };
  await repo.domains.insert(domain);
  return { userId: user.id, domainId: domain.id };
}

function copy(owner: { userId: string; domainId: string }, n: number, deliveries = 2): InboundCopy {
  const id = newId('msg');
  const rawKey = `msg/${id}/raw.eml`;
  return {
    message: {
      id, ...owner, envelope: { mailFrom: 'a@sender.test', rcptTo: ['x@bench.test'], helo: 'h', remoteIp: '192.0.2.1', tls: false },
      parsed: { ...emptyParsed(), subject: `m${n}`, text: 'x'.repeat(2000) }, auth: {}, size: 3000, rawKey, parseError: null, receivedAt: n, purgedAt: null,
    },
    attachments: [],
    inlineBlobs: [{ key: rawKey, data: Buffer.alloc(3000, 120) }],
    recipients: [{ address: 'x@bench.test', domainId: owner.domainId }],
    deliveries: Array.from({ length: deliveries }, (_, i) => ({
      id: newId('dlv'), userId: owner.userId, messageId: id, routeId: null, domainId: owner.domainId, url: `https://d${(n + i) % DESTS}.bench.test/hook`, secret: 's',
    })),
    forwards: [],
  };
}

/** Messages per second stored by SENDERS concurrent senders spread over `repos` (one per node). */
async function storeRate(repos: Repository[]): Promise<number> {
  const owners = await Promise.all(repos.map(seed));
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: SENDERS }, async (_, s) => {
      const node = s % repos.length;
      for (let n = next++; n < MESSAGES; n = next++) await repos[node]!.storeInbound([copy(owners[node]!, n)], Date.now());
    }),
  );
  return MESSAGES / ((performance.now() - t) / 1000);
}

/** Claims per second by CLAIMERS concurrent workers draining BACKLOG due deliveries; checks none is claimed twice. */
async function claimRate(repo: Repository): Promise<number> {
  const owner = await seed(repo);
  for (let n = 0; n < BACKLOG; n += 100) await repo.storeInbound(Array.from({ length: 50 }, (_, i) => copy(owner, n + 2 * i)), 0);
  const seen = new Set<string>();
  const now = Date.now();
  const t = performance.now();
  await Promise.all(
    Array.from({ length: CLAIMERS }, async (_, w) => {
      for (let idle = 0; idle < DESTS; ) {
        const dest = `https://d${(w + idle) % DESTS}.bench.test`;
        const due = await repo.deliveries.dueFor(dest, now, 10);
        const got = due.length ? await repo.deliveries.claim(due.map((d) => d.id), now, now + 40_000) : [];
        for (const c of got) {
          if (seen.has(c.delivery.id)) throw new Error(`claimed twice: ${c.delivery.id}`);
          seen.add(c.delivery.id);
        }
        idle = due.length ? 0 : idle + 1;
      }
    }),
  );
  if (seen.size !== BACKLOG) throw new Error(`claimed ${seen.size} of ${BACKLOG}`);
  return BACKLOG / ((performance.now() - t) / 1000);
}

/** The repository-level figures (section of `npm run bench:nodes`). */
export function benchRepository(): Promise<void> {
  return guarded('Several nodes: PostgreSQL vs SQLite (repository)', async () => {
    const cluster = await startPgCluster();
    const dir = mkdtempSync(join(tmpdir(), 'mailhook-bench-nodes-'));
    const opened: Repository[] = [];
    const sqlite = (name: string) => opened[opened.push(createSqliteRepository(openDb(join(dir, `${name}.db`)))) - 1]!;
    const postgres = async (url: string) => {
      const r = lazyPgRepository(url);
      await r.ready;
      return opened[opened.push(r) - 1]!;
    };
    try {
      const store = { sqlite: await storeRate([sqlite('store')]), pg1: 0, pg2: 0 };
      store.pg1 = await storeRate([await postgres(await cluster.createDatabase('store1'))]);
      const url2 = await cluster.createDatabase('store2');
      store.pg2 = await storeRate([await postgres(url2), await postgres(url2)]);
      const claims = { sqlite: await claimRate(sqlite('claim')), pg: await claimRate(await postgres(await cluster.createDatabase('claim'))) };
      report(
        'Several nodes: PostgreSQL vs SQLite (repository)',
        [
          { scenario: `store ${MESSAGES} transactions, ${SENDERS} senders: PG 1 node vs SQLite`, mailhook: `${fmt(store.pg1)} msg/s`, baseline: `${fmt(store.sqlite)} msg/s`, ratio: ratio(store.pg1, store.sqlite), target: '—', met: '—' },
          { scenario: `… PG 2 nodes (2 pools) vs PG 1 node`, mailhook: `${fmt(store.pg2)} msg/s`, baseline: `${fmt(store.pg1)} msg/s`, ratio: ratio(store.pg2, store.pg1), target: '—', met: '—' },
          { scenario: `claim ${BACKLOG} deliveries, ${CLAIMERS} claimers: PG vs SQLite`, mailhook: `${fmt(claims.pg)} /s`, baseline: `${fmt(claims.sqlite)} /s`, ratio: ratio(claims.pg, claims.sqlite), target: '—', met: '—' },
        ],
        [
          'SQLite: one writer, one fsync per group commit batch. PostgreSQL: each transaction its own commit (fsync on, synchronous_commit=on), WAL flushes shared by concurrent commits;',
          'a transaction is a few round trips on loopback. Both on this machine, sharing its 2 cores with the benchmark itself: the two-node figure shows the database, not more CPUs.',
        ],
      );
    } finally {
      for (const r of opened) await r.close();
      cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
