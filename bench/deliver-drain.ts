/**
 * The webhook queue alone (issue 14): BENCH_DELIVERIES (5,000) deliveries queued to one
 * destination (a local receiver that answers 200 at once), drained by the delivery worker with
 * the default pools (64, 8 per destination). Reports the process CPU per delivery (user + sys,
 * every thread: queue reads, claims, finishes, fsyncs, the request, the receiver) and the drain
 * rate, without the SMTP and parse work of the ingest bench around it, whose noise on this shared
 * machine is larger than what the queue costs. BENCH_BEFORE=<checkout> runs that checkout's worker
 * and repository too, interleaved BENCH_PAIRS (3) times, each run in a fresh process and database.
 * The messages are seeded, not received: every attempt reads its message back (no hand-off), in
 * both. Run: node --import tsx bench/deliver-drain.ts
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedMessage } from '../test/deliver/seed.js';
import { startReceiver } from './lib/receiver.js';
import { envInt, fmt } from './lib/report.js';

const N = envInt('BENCH_DELIVERIES', 5000);
const HERE = resolve(fileURLToPath(new URL('..', import.meta.url)));

interface Drained {
  cpuUsPerDelivery: number;
  rate: number;
}

/** In a child: seed, then drain with the worker of checkout `root`; prints the result as JSON. */
async function drain(root: string): Promise<Drained> {
  const { loadConfig } = (await import(join(root, 'src/config.ts'))) as typeof import('../src/config.js');
  const { createDeps } = (await import(join(root, 'src/deps.ts'))) as typeof import('../src/deps.js');
  const { createDeliveryWorker } = (await import(join(root, 'src/deliver/worker.ts'))) as typeof import('../src/deliver/worker.js');
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-drain-'));
  const receiver = await startReceiver({ key: 'webhook-id' });
  const deps = createDeps(
    loadConfig({ DATA_DIR: dir, SECRET: 'bench-secret-bench-secret-bench-secret-0123', ALLOW_INSECURE_WEBHOOKS: 'true', LOG_LEVEL: 'silent', AUTH_CHECKS: 'false' }),
  );
  try {
    const now = deps.now();
    const user = await deps.repos.users.insert({ id: 'usr_drain', email: 'drain@bench.test', passwordHash: null, googleSub: null, createdAt: now });
    const domain = { id: 'dom_drain', userId: user.id, name: 'bench.test', status: 'verified' as const, verificationToken: 'tok', verifiedAt: now, webhookUrl: null, webhookSecret: null, createdAt: now };
    await deps.repos.domains.insert(domain);
    const owner = { userId: user.id, domainId: domain.id };
    deps.db?.pragma('synchronous = OFF'); // seeding only: no fsync per row
    for (let i = 0; i < N; i++) {
      const { message } = await seedMessage(deps, owner);
      await deps.repos.deliveries.insert(
        { id: `dlv_${String(i).padStart(8, '0')}`, userId: user.id, messageId: message.id, routeId: null, domainId: domain.id, url: `${receiver.url}/hook`, secret: 'whsec_' + Buffer.from('drain-secret-0123456789012345').toString('base64') },
        now - N + i, // all due at the start, oldest first
      );
    }
    deps.db?.pragma('synchronous = FULL');
    const worker = createDeliveryWorker(deps);
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    worker.start();
    if (!(await receiver.waitFor(N, 300_000))) throw new Error(`only ${receiver.firstAt.size} of ${N} delivered`);
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    await worker.stop();
    return { cpuUsPerDelivery: (cpu.user + cpu.system) / N, rate: (N / ms) * 1000 };
  } finally {
    await receiver.close();
    await deps.repos.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(root: string): Drained {
  const out = execFileSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'child', root], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', BENCH_DELIVERIES: String(N) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 1 << 20,
  });
  return JSON.parse(out.trim().split('\n').pop()!) as Drained;
}

if (process.argv[2] === 'child') {
  console.log(JSON.stringify(await drain(process.argv[3]!)));
  process.exit(0);
} else if (import.meta.url === `file://${process.argv[1]}`) {
  const before = process.env.BENCH_BEFORE;
  const line = (label: string, d: Drained) => console.log(`${label}: ${fmt(d.cpuUsPerDelivery)} CPU µs/delivery, ${fmt(d.rate)} deliveries/s (${N})`);
  for (let i = 0; i < envInt('BENCH_PAIRS', 3); i++) {
    if (before) line(before, run(resolve(before)));
    line('current', run(HERE));
  }
}
