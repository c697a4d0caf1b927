/**
 * SQLite statements per ingested message (issue 14, "fewer writes per message"): Mailhook's SMTP
 * server and delivery worker in this process, with every prepared statement's run/get/all/iterate
 * counted by its SQL, over BENCH_STATEMENT_MESSAGES (2,000) 4 KB messages to one webhook route,
 * after a warm-up. Prints the statements per message (webhook arrived), by kind and by statement.
 * A measurement, not a target: `npm run bench:statements`.
 */
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { loadConfig } from '../src/config.js';
import { createDeliveryWorker } from '../src/deliver/worker.js';
import { createDeps } from '../src/deps.js';
import { authCheck } from '../src/inbound/auth-check.js';
import { createSmtpServer } from '../src/smtp/server.js';
import { benchDir, benchEnv, dnsServer, seedRoutes } from './lib/mailhook.js';
import { plainMessage } from './lib/messages.js';
import { startReceiver } from './lib/receiver.js';
import { envInt } from './lib/report.js';
import { runLoad } from './lib/smtp-client.js';

const N = envInt('BENCH_STATEMENT_MESSAGES', 2000);
const WARMUP = 300;
const counts = new Map<string, number>();
let counting = false;

// Every statement of every connection of this process: wrap the Statement class's executors.
const proto = Object.getPrototypeOf(new Database(':memory:').prepare('SELECT 1')) as Record<string, unknown>;
for (const method of ['run', 'get', 'all', 'iterate']) {
  const original = proto[method] as (...args: unknown[]) => unknown;
  proto[method] = function (this: { source: string }, ...args: unknown[]) {
    if (counting) {
      const sql = this.source.replace(/\s+/g, ' ').trim().slice(0, 90);
      counts.set(sql, (counts.get(sql) ?? 0) + 1);
    }
    return original.apply(this, args);
  };
}

const dir = benchDir('statements');
const receiver = await startReceiver();
const deps = createDeps(loadConfig(benchEnv({ DATA_DIR: dir, PUBLIC_URL: 'http://127.0.0.1:3000', DNS_SERVERS: await dnsServer() })));
await seedRoutes(deps, 'bench.test', [receiver.url]);
const worker = createDeliveryWorker(deps);
worker.start();
// As main.ts wires it: acceptInbound wakes the delivery worker's passes only for deliveries it left to them (src/deliver/born.ts).
const smtp = createSmtpServer(deps, { checkAuth: authCheck(deps) });
const port = await smtp.listen(0, '127.0.0.1');
const load = (from: number, n: number) =>
  runLoad({ port, connections: 20, messages: n, message: (s) => plainMessage(from + s, `in${s % 50}@bench.test`), rcptTo: (s) => `in${s % 50}@bench.test` });

await load(1_000_000, WARMUP);
await receiver.waitFor(WARMUP, 60_000);
counting = true;
const r = await load(0, N);
await receiver.waitFor(WARMUP + r.accepted, 120_000);
// Attempts whose webhook arrived may still be recording their results.
await new Promise((resolve) => setTimeout(resolve, 500));
counting = false;

const per = (n: number) => (n / r.accepted).toFixed(2);
const kinds = new Map<string, number>();
for (const [sql, n] of counts) {
  const kind = sql.split(' ')[0]!.toUpperCase();
  kinds.set(kind, (kinds.get(kind) ?? 0) + n);
}
const total = [...counts.values()].reduce((a, b) => a + b, 0);
console.log(`${r.accepted} messages accepted, ${receiver.firstAt.size - WARMUP} webhooks arrived`);
console.log(`statements per message: ${per(total)} (${[...kinds].map(([k, n]) => `${k} ${per(n)}`).join(', ')})`);
for (const [sql, n] of [...counts].sort((a, b) => b[1] - a[1])) console.log(`  ${per(n).padStart(6)}  ${sql}`);

await smtp.close();
await worker.stop();
await receiver.close();
deps.db?.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
