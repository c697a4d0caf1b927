import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dockerNodeFlags, flyCpus, flyMemoryEnv } from '../../bench/lib/machine.js';
import { loadConfig } from '../../src/config.js';

// docker and flyctl cannot run here: these tests hold the deployment files to the code they deploy.
const ROOT = new URL('../../', import.meta.url).pathname;
const read = (f: string) => readFileSync(join(ROOT, f), 'utf8');

type Table = Record<string, unknown>;

/**
 * The TOML subset fly.toml uses: [table], [[array.of.tables]], key = "string" | number | bool |
 * ["array"], # comments. Anything else throws, so a typo fails here rather than in `fly deploy`.
 */
function parseToml(text: string): Table {
  const root: Table = {};
  let current = root;
  const walk = (path: string[], arrayLast: boolean) => {
    let t = root;
    path.forEach((k, i) => {
      const last = i === path.length - 1;
      if (last && arrayLast) {
        const list = (t[k] ??= []) as Table[];
        if (!Array.isArray(list)) throw new Error(`${path.join('.')} is not an array of tables`);
        list.push((t = {}));
        return;
      }
      const v = (t[k] ??= {}) as Table | Table[];
      t = Array.isArray(v) ? v[v.length - 1]! : v;
    });
    return t;
  };
  const value = (raw: string, line: number): unknown => {
    if (/^"[^"\\]*"$/.test(raw)) return raw.slice(1, -1);
    if (/^-?\d+$/.test(raw)) return Number(raw);
    if (raw === 'true' || raw === 'false') return raw === 'true';
    if (/^\[.*\]$/.test(raw)) {
      const inner = raw.slice(1, -1).trim();
      return inner ? inner.split(',').map((s) => value(s.trim(), line)) : [];
    }
    throw new Error(`fly.toml line ${line}: unsupported value ${raw}`);
  };
  text.split('\n').forEach((full, n) => {
    const line = full.replace(/\s+#.*$/, '').replace(/^#.*$/, '').trim();
    if (!line) return;
    const header = /^(\[\[?)\s*([\w.-]+)\s*\]\]?$/.exec(line);
    if (header) return void (current = walk(header[2]!.split('.'), header[1] === '[['));
    const kv = /^([\w-]+)\s*=\s*(.+)$/.exec(line);
    if (!kv) throw new Error(`fly.toml line ${n + 1}: cannot parse "${full}"`);
    if (kv[1]! in current) throw new Error(`fly.toml line ${n + 1}: duplicate key ${kv[1]}`);
    current[kv[1]!] = value(kv[2]!, n + 1);
  });
  return root;
}

interface Fly {
  app: string;
  kill_signal: string;
  kill_timeout: string;
  metrics: { port: number; path: string };
  build: { dockerfile: string };
  env: Record<string, string>;
  mounts: { source: string; destination: string }[];
  vm: { memory: string; cpu_kind: string; cpus: number }[];
  http_service: { internal_port: number; force_https: boolean; checks: { path: string }[] };
  services: { protocol: string; internal_port: number; ports: { port: number; handlers?: string[] }[] }[];
}

const fly = parseToml(read('fly.toml')) as unknown as Fly;
const dockerfile = read('Dockerfile');
const pkg = JSON.parse(read('package.json')) as { scripts: { start: string }; dependencies: Record<string, string> };

/** The app's configuration as Fly would start it (DATA_DIR swapped for a temporary folder). */
function flyConfig() {
  const dir = mkdtempSync(join(tmpdir(), 'mailhook-fly-'));
  try {
    return loadConfig({ ...fly.env, DATA_DIR: dir, SECRET: 's'.repeat(40) });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('fly.toml', () => {
  it('names the app, the Dockerfile and a volume mounted at DATA_DIR', () => {
    expect(fly.app).toMatch(/^[a-z0-9-]+$/);
    expect(fly.build.dockerfile).toBe('Dockerfile');
    expect(fly.mounts).toHaveLength(1);
    expect(fly.mounts[0]!.destination).toBe(fly.env.DATA_DIR);
  });

  it('passes an environment the app accepts, with the ports its services forward to', () => {
    const config = flyConfig();
    expect(fly.http_service.internal_port).toBe(config.httpPort);
    expect(fly.http_service.force_https).toBe(true);
    const smtp = fly.services.filter((s) => s.ports.some((p) => p.port === 25));
    expect(smtp).toHaveLength(1);
    expect(smtp[0]!.protocol).toBe('tcp');
    expect(smtp[0]!.internal_port).toBe(config.smtpPort);
    // Raw TCP: a tls or http handler would break STARTTLS and the SMTP dialogue. proxy_proto only
    // prepends the sender's IP, and the app must expect it, or every connection is refused.
    expect(smtp[0]!.ports.flatMap((p) => p.handlers ?? [])).toEqual(['proxy_proto']);
    expect(config.smtpProxyProtocol).toBe(true);
    expect(config.publicUrl).toMatch(/^https:\/\//);
    // Fly's proxy sets Fly-Client-IP: the throttles count per client, not per proxy.
    expect(config.trustProxy).toBe('fly');
  });

  it('names the Machine size the memory benchmark supports, and the bench reads the same CPUs, flags and memory settings', () => {
    expect(fly.vm).toHaveLength(1);
    expect(fly.vm[0]!.memory).toBe('256mb');
    // bench/memory.ts runs the servers on this many cores, with the CMD's flags and these [env] settings.
    expect(flyCpus()).toBe(fly.vm[0]!.cpus);
    expect(dockerNodeFlags()).toEqual((JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[]).slice(1, -1));
    expect(flyMemoryEnv()).toEqual({ SQLITE_CACHE_MB: fly.env.SQLITE_CACHE_MB });
  });

  it('health-checks the health endpoint', () => {
    expect(fly.http_service.checks.map((c) => c.path)).toEqual(['/api/health']);
  });

  it('gives a stop on SIGTERM the whole SHUTDOWN_TIMEOUT_MS and 10 s more before Fly kills it', () => {
    const config = flyConfig();
    expect(fly.kill_signal).toBe('SIGTERM');
    const kill = /^(\d+)s$/.exec(fly.kill_timeout);
    expect(kill).not.toBeNull();
    expect(Number(kill![1]) * 1000).toBeGreaterThanOrEqual(config.shutdownTimeoutMs + 10_000);
  });

  it("points Fly's scraper at the metrics listener, which no public service exposes", () => {
    const config = flyConfig();
    expect(fly.metrics).toEqual({ port: config.metricsPort, path: '/metrics' });
    const published = [fly.http_service.internal_port, ...fly.services.map((s) => s.internal_port)];
    expect(published).not.toContain(fly.metrics.port);
    expect(config.metricsHost).toBe('::');
  });

  it('keeps secrets out of the file', () => {
    expect(Object.keys(fly.env).filter((k) => /SECRET|KEY|TOKEN|PASSWORD/.test(k))).toEqual([]);
  });
});

describe('Dockerfile', () => {
  const json = (instr: string) => JSON.parse(new RegExp(`^${instr} (\\[.*\\])$`, 'm').exec(dockerfile)![1]!) as string[];
  const env = Object.fromEntries([...dockerfile.matchAll(/^\s*(?:ENV\s+)?([A-Z_]+)=(\S+?)\s*\\?$/gm)].map((m) => [m[1]!, m[2]!]));

  it('runs the compiled server that `npm start` runs once built, with heap and GC flags for the Machine size', () => {
    const cmd = json('CMD');
    expect(cmd[0]).toBe('node');
    expect(cmd.at(-1)).toBe('dist/main.js'); // bin/start.js (npm start) runs dist/main.js when built
    expect(pkg.scripts.start).toBe('node bin/start.js');
    expect(cmd.slice(1, -1).every((f) => /^--(max-[a-z-]+=\d+|single-threaded-gc)$/.test(f))).toBe(true);
    expect(dockerfile).toMatch(/^RUN npm run build && npm prune --omit=dev$/m);
    expect(read('README.md')).toMatch(/npm start/);
  });

  it('sets the same DATA_DIR and ports as fly.toml and exposes those ports', () => {
    for (const name of ['DATA_DIR', 'SMTP_PORT', 'HTTP_PORT']) expect(env[name], name).toBe(fly.env[name]);
    const exposed = /^EXPOSE (.+)$/m.exec(dockerfile)![1]!.split(/\s+/).map(Number).sort();
    expect(exposed).toEqual([fly.env.SMTP_PORT, fly.env.HTTP_PORT].map(Number).sort());
  });

  it('copies everything the start command reads, and .dockerignore keeps it in the build context', () => {
    for (const path of ['src', 'bin', 'schema.sql', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(dockerfile).toMatch(new RegExp(`^COPY .*\\b${path.replace('.', '\\.')}\\b`, 'm'));
    }
    expect(dockerfile).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    const ignored = read('.dockerignore').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    for (const path of ['src', 'bin', 'schema.sql', 'package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json']) {
      expect(ignored).not.toContain(path);
    }
  });

  it('keeps only the production dependencies, so every package src/ imports at run time is a dependency', () => {
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    const files = (dir: string): string[] =>
      readdirSync(dir).flatMap((f) => (statSync(join(dir, f)).isDirectory() ? files(join(dir, f)) : [join(dir, f)]));
    const used = new Set<string>();
    for (const file of files(join(ROOT, 'src')).filter((f) => /\.tsx?$/.test(f))) {
      for (const m of readFileSync(file, 'utf8').matchAll(/^(?:import|export)(?! type )[^'"]*?from '([^'.][^']*)'|import\('([^'.][^']*)'\)/gm)) {
        const spec = (m[1] ?? m[2])!;
        if (spec.startsWith('node:')) continue;
        used.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]!);
      }
    }
    expect([...used].filter((p) => !(p in pkg.dependencies))).toEqual([]);
  });
});
