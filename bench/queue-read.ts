// What the queue gauges of /metrics and `mailhook status` cost at scrape time, by backlog size:
// 1 M finished deliveries (never read) plus 1,000, then 100,000 pending ones.
// Run: node --import tsx bench/queue-read.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { openDb } from '../src/db/open.js';
import { webhookQueue } from '../src/ops/queues.js';

const dir = mkdtempSync(join(tmpdir(), 'mailhook-queue-read-'));
const db = openDb(join(dir, 'mailhook.db'));
db.pragma('foreign_keys = OFF'); // rows without messages: only the deliveries table is measured
const insert = db.prepare(
  `INSERT INTO deliveries (id, user_id, message_id, route_id, url, secret, dest, status, attempts, next_attempt_at, created_at, updated_at)
   VALUES (?, 'usr_bench', 'msg_bench', NULL, 'https://x.test/', 'whsec_x', ?, ?, 0, ?, 0, 0)`,
);
const now = Date.now();
const fill = (n: number, status: 'pending' | 'delivered', from: number) =>
  db.transaction(() => {
    for (let i = from; i < from + n; i++) {
      insert.run(`dlv_${status}_${i}`, `https://d${i % 50}.test:443`, status, status === 'pending' ? now - 100_000 + i : null);
    }
  })();
const read = webhookQueue(db);
const measure = (label: string) => {
  read(now);
  const runs = Array.from({ length: 15 }, () => {
    const t = performance.now();
    read(now);
    return performance.now() - t;
  }).sort((a, b) => a - b);
  console.log(`${label}: median ${runs[7]!.toFixed(2)} ms, max ${runs[14]!.toFixed(2)} ms`, read(now));
};

fill(1_000_000, 'delivered', 0);
fill(1_000, 'pending', 0);
measure('1 M delivered + 1,000 pending');
fill(99_000, 'pending', 1_000);
measure('1 M delivered + 100,000 pending');
db.close();
rmSync(dir, { recursive: true, force: true });
