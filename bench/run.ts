/**
 * `npm run bench`: every scenario, each in its own process (one after the other, so they never
 * share the machine), then one table of all the figures. BENCH_ONLY=ingest,latency runs a
 * subset; every BENCH_* knob of the scenarios passes through.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchTmp } from './lib/mailhook.js';
import { table, type Row } from './lib/report.js';
import { fsOf, SMTP_SINK } from './ingest.js';

const SCENARIOS = ['ingest', 'latency', 'big-mail', 'api-scale', 'slow-endpoints', 'fanout', 'memory', 'stall', 'send', 'nodes'];
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
const dir = mkdtempSync(join(tmpdir(), 'mailhook-bench-results-'));
const results = join(dir, 'results.jsonl');
const started = new Date();
const load = loadavg().map((l) => l.toFixed(2)).join(' ');

let failed = 0;
for (const name of SCENARIOS) {
  if (only && !only.includes(name)) continue;
  const script = fileURLToPath(new URL(`./${name}.ts`, import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit', env: { ...process.env, BENCH_RESULTS: results } });
  if (r.status !== 0) failed++;
}

const lines = existsSync(results) ? readFileSync(results, 'utf8').trim().split('\n').filter(Boolean) : [];
const parsed = lines.map((l) => JSON.parse(l) as Row | { note: string });
const rows = parsed.filter((r): r is Row => 'scenario' in r);
const minutes = ((Date.now() - started.getTime()) / 60_000).toFixed(1);
console.log('\n# Mailhook benchmarks: results\n');
console.log(`- machine: ${cpus().length} × ${cpus()[0]?.model.trim() ?? 'cpu'}, ${Math.round(totalmem() / 2 ** 30)} GiB RAM, Node ${process.version}, ${process.platform} ${process.arch}`);
console.log(`- data folders: ${fsOf(benchTmp())}`);
console.log(`- date: ${started.toISOString()} (took ${minutes} min); load average at start: ${load}`);
console.log(`- command: npm run bench${only ? ` (BENCH_ONLY=${only.join(',')})` : ''}`);
console.log(`- Mailhook config: AUTH_CHECKS=${process.env.BENCH_AUTH_CHECKS ?? "true"} (DNS_SERVERS: the bench's loopback DNS server, answering at once) LOG_LEVEL=silent MAX_CONNECTIONS_PER_IP=1000 ALLOW_INSECURE_WEBHOOKS=true, the rest default; Postfix smtp-sink ${existsSync(SMTP_SINK) ? 'installed' : 'not installed'}\n`);
console.log(table(rows));
const met = rows.filter((r) => r.met === 'met').length;
const notMet = rows.filter((r) => r.met === 'NOT MET').length;
console.log(`\n${met} targets met, ${notMet} not met${failed ? `, ${failed} scenario(s) failed to run` : ''}.`);
rmSync(dir, { recursive: true, force: true });
process.exitCode = failed ? 1 : 0;
