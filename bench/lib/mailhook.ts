import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { setPriority, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { newWebhookSecret } from '../../src/deliver/sign.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { newId } from '../../src/ids.js';
import { seedUserAndDomain } from '../../test/helpers/deps.js';
import { freePort, procStats, profileFlags, startChild, startListening, startNode, type Child, type ProcStats } from './proc.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src', 'main.ts');
const BUILT_MAIN = join(ROOT, 'dist', 'main.js');

/** `npm run build`: dist/ from this checkout's src/, for `startMailhook(…, { built: true })`. */
export function buildDist(): void {
  console.log('building dist/ (npm run build) ...');
  execFileSync(process.execPath, [fileURLToPath(new URL('../../bin/build.js', import.meta.url))], { stdio: 'inherit' });
}

function newestMtime(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, e.name);
    newest = Math.max(newest, e.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * dist/ of checkout `dir` (this one by default), built (`bin/build.js --noCheck`: `npm test`
 * type-checks) unless dist/main.js is newer than every file under src/ — bin/entry.js's rule.
 */
export function ensureDist(dir: string = ROOT): void {
  const main = join(dir, 'dist', 'main.js');
  if (existsSync(main) && statSync(main).mtimeMs >= newestMtime(join(dir, 'src'))) return;
  console.log(`building ${join(dir, 'dist')} (bin/build.js --noCheck) ...`);
  execFileSync(process.execPath, [join(dir, 'bin', 'build.js'), '--noCheck'], { stdio: 'inherit' });
}

/**
 * Whether checkout `dir` ran compiled in production: its Dockerfile's CMD runs dist/main.js
 * (since e1878e7, 2026-12-06) rather than src/main.ts through tsx (66637c6 and before).
 */
export function deployedBuilt(dir: string): boolean {
  const dockerfile = join(dir, 'Dockerfile');
  return existsSync(dockerfile) && /^CMD .*dist\/main\.js/m.test(readFileSync(dockerfile, 'utf8'));
}

export interface StartOptions {
  /** Run the compiled dist/main.js as production does (no TypeScript loader): `npm run build` first. */
  built?: boolean;
  /** Node flags before the script (e.g. the heap limits of the Dockerfile's CMD). */
  nodeFlags?: string[];
  /** Another checkout's entry (beforeMain()): its src/main.ts through tsx, or with `built` its dist/main.js. */
  main?: string;
  /**
   * CPUs the server may run on, a `taskset -c` list (e.g. "0"): the process and every thread it
   * starts (V8's GC helpers, libuv's pool) are confined to them from exec on. Built runs only.
   */
  cpuList?: string;
}

/**
 * Where bench data folders go: BENCH_TMP, else /var/tmp (disk-backed by convention; /tmp is
 * tmpfs on many systems, where fsync costs nothing and a durability benchmark means nothing).
 */
export function benchTmp(): string {
  return process.env.BENCH_TMP ?? (existsSync('/var/tmp') ? '/var/tmp' : tmpdir());
}

/** A fresh data folder for one server. */
export const benchDir = (prefix: string) => mkdtempSync(join(benchTmp(), `mailhook-bench-${prefix}-`));
export const SECRET = 'bench-secret-bench-secret-bench-secret-0123456789';

/**
 * The configuration every Mailhook bench run uses, stated in bench/README.md:
 * AUTH_CHECKS as by default (true; startMailhook points DNS_SERVERS at the bench's loopback DNS
 * server, dnsServer()), LOG_LEVEL=silent, MAX_CONNECTIONS_PER_IP=1000 (every bench connection comes from 127.0.0.1),
 * ALLOW_INSECURE_WEBHOOKS=true (the receiver is http://127.0.0.1). Everything else is default.
 */
export function benchEnv(extra: Record<string, string> = {}): Record<string, string> {
  return {
    SECRET,
    SMTP_HOST: '127.0.0.1',
    HTTP_HOST: '127.0.0.1',
    MX_HOST: 'mx.bench.test',
    ALLOW_INSECURE_WEBHOOKS: 'true',
    AUTH_CHECKS: process.env.BENCH_AUTH_CHECKS ?? 'true',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'silent',
    MAX_CONNECTIONS_PER_IP: '1000',
    // Where bench/lib/alloc-sampling.mjs writes its profile (the children get this environment only).
    ...(process.env.BENCH_ALLOC_DIR ? { BENCH_ALLOC_DIR: process.env.BENCH_ALLOC_DIR } : {}),
    ...extra,
  };
}

export interface RunningMailhook {
  smtpPort: number;
  httpPort: number;
  dataDir: string;
  child: Child;
  stats(): ProcStats;
  /** SIGTERM (a clean stop writes the CPU profile), then removes the data folder. */
  stop(): Promise<void>;
}

/** A user with one verified domain and webhook routes to `urls` (one route each, all matching). */
export async function seedRoutes(deps: Deps, domainName: string, urls: string[], match = `*@${domainName}`) {
  const { user, domain } = await seedUserAndDomain(deps, domainName);
  const now = Date.now();
  for (const [i, url] of urls.entries()) {
    await deps.repos.routes.insert({
      id: newId('rte'),
      userId: user.id,
      domainId: domain.id,
      match,
      action: 'webhook',
      destination: url,
      secret: newWebhookSecret(),
      priority: i + 1,
      stop: false,
      filters: null,
      enabled: true,
      createdAt: now,
      updatedAt: now,
    });
  }
  return { user, domain };
}

/**
 * An earlier Mailhook to measure against in the same run (BENCH_BEFORE: a checkout of that
 * commit with its node_modules, e.g. `git worktree add /tmp/mh-66637c6 66637c6`), or null.
 */
export function beforeMain(): Before | null {
  const dir = process.env.BENCH_BEFORE;
  if (!dir) return null;
  const source = join(dir, 'src', 'main.ts');
  if (!existsSync(source)) throw new Error(`BENCH_BEFORE=${dir} has no src/main.ts`);
  const label = process.env.BENCH_BEFORE_LABEL ?? dir;
  // Run as that commit ran in production (its Dockerfile's CMD), as this checkout's side is.
  if (!deployedBuilt(dir)) return { dir, main: source, built: false, label };
  ensureDist(dir);
  return { dir, main: join(dir, 'dist', 'main.js'), built: true, label };
}

export interface Before {
  /** The checkout. */
  dir: string;
  /** What runs: dist/main.js when `built`, else src/main.ts (through tsx). */
  main: string;
  built: boolean;
  label: string;
}

const DNS_CHILD = fileURLToPath(new URL('./dns-child.ts', import.meta.url));
let dns: Promise<string> | undefined;
let dnsChild: Child | undefined;

/** Kills the bench's DNS server now (a test: vitest ends its workers without an 'exit' event). */
export function stopDnsServer(): void {
  dnsChild?.proc.kill('SIGKILL');
  dnsChild = undefined;
  dns = undefined;
}

/**
 * "127.0.0.1:PORT" of the bench's DNS server (dns-child.ts, its own process, started once and
 * killed when the bench exits): SPF and DMARC answered at once, as a resolver with a warm cache.
 */
export function dnsServer(): Promise<string> {
  return (dns ??= new Promise((resolve, reject) => {
    const child = (dnsChild = startNode(DNS_CHILD, [], {}));
    process.once('exit', () => child.proc.kill('SIGKILL'));
    // Ahead of everything else on the machine where allowed: it stands in for a resolver's warm
    // cache, which answers in microseconds. Starved of a core, it made c-ares retry (after 666 ms).
    try {
      setPriority(child.pid, -10);
    } catch {
      // not permitted: as it is
    }
    let out = '';
    child.proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (!out.includes('\n')) return;
      resolve(out.trim());
      // Nothing more to read: the bench may exit whenever it is done (and kills it then).
      child.proc.stdout!.destroy();
      child.proc.stderr!.destroy();
      child.proc.unref();
    });
    child.proc.once('exit', () => reject(new Error(`bench DNS server exited: ${child.stderr()}`)));
  }));
}

/**
 * Seeds a fresh DATA_DIR through `seed`, then starts `src/main.ts` (or `opts.main`, another
 * checkout's) as its own process (the production entry point: SMTP, HTTP, delivery worker,
 * sweeper) and waits for both listeners.
 */
export async function startMailhook(
  name: string,
  seed: (deps: Deps) => unknown,
  extraEnv: Record<string, string> = {},
  opts: StartOptions = {},
): Promise<RunningMailhook> {
  const dataDir = benchDir(name);
  const envFor = (smtpPort: number, httpPort: number, dns: string) =>
    benchEnv({
      DATA_DIR: dataDir,
      SMTP_PORT: String(smtpPort),
      HTTP_PORT: String(httpPort),
      PUBLIC_URL: `http://127.0.0.1:${httpPort}`,
      DNS_SERVERS: dns,
      ...extraEnv,
    });
  const dns = await dnsServer();
  const first = [await freePort(), await freePort()];
  const deps = createDeps(loadConfig(envFor(first[0]!, first[1]!, dns)));
  try {
    await seed(deps);
  } finally {
    deps.db!.close();
  }
  // BENCH_MAILHOOK_NODE_FLAGS: extra node flags for experiments (e.g. --max-semi-space-size=4).
  const extraFlags = (process.env.BENCH_MAILHOOK_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const flags = [...(opts.nodeFlags ?? []), ...extraFlags, ...profileFlags(`mailhook-${name}`)];
  if (opts.cpuList !== undefined && !opts.built) throw new Error('cpuList: built runs only');
  const built = opts.main ?? BUILT_MAIN;
  // Ports picked here and bound by the child: started again on fresh ones if one was taken meanwhile.
  const {
    child,
    ports: [smtpPort, httpPort],
  } = await startListening(2, ([smtp, http]) => {
    const env = envFor(smtp!, http!, dns);
    return !opts.built
      ? startNode(opts.main ?? MAIN, [], env, flags)
      : opts.cpuList !== undefined
        ? startChild('taskset', ['-c', opts.cpuList, process.execPath, ...flags, built], env) // taskset execs node: same pid
        : startChild(process.execPath, [...flags, built], env);
  }, { first });
  return {
    smtpPort: smtpPort!,
    httpPort: httpPort!,
    dataDir,
    child,
    stats: () => procStats(child.pid),
    async stop() {
      await child.stop('SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
