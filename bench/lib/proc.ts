import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0, closed again
 * at once). Anything may take it before a child binds it (the kernel hands the same range out as
 * source ports of outgoing connections: another engineer's tests, our own clients): start
 * children through startListening, which notices and starts again on fresh ports.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Socket inodes in LISTEN on `port` (any address), from /proc/net/tcp{,6}; null where /proc cannot tell. */
function listeningInodes(port: number): Set<string> | null {
  const inodes = new Set<string>();
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let read = false;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    read = true;
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
      if (f.length > 9 && f[3] === '0A' && f[1]!.endsWith(`:${hex}`)) inodes.add(f[9]!);
    }
  }
  return read ? inodes : null;
}

/**
 * Whether process `pid` itself holds the socket listening on `port`: a port that answers may be
 * someone else's, taken between freePort and the child's bind (which then fails). Linux (/proc);
 * true where that cannot be read.
 */
export function listensOn(pid: number, port: number): boolean {
  const inodes = listeningInodes(port);
  if (inodes === null) return true;
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return true;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m && inodes.has(m[1]!)) return true;
    } catch {
      // closed meanwhile
    }
  }
  return false;
}

/** The child could not bind its port (EADDRINUSE): startListening tries again on fresh ports. */
export class PortTakenError extends Error {}

/**
 * Resolves once `child` (when given: the process itself, not whoever took the port meanwhile)
 * accepts connections on `port`. Rejects if the child exits first: PortTakenError when it said
 * EADDRINUSE.
 */
export async function waitForPort(port: number, timeoutMs = 30_000, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exited()) {
      const err = child.stderr();
      const message = `process exited before listening on ${port}:\n${err}`;
      throw /EADDRINUSE|[Aa]ddress already in use/.test(err) ? new PortTakenError(message) : new Error(message);
    }
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    // Someone else's listener: wait for the child to say so (it exits with EADDRINUSE).
    if (ok && (!child || listensOn(child.pid, port))) return;
    if (Date.now() > deadline) throw new Error(`${ok ? 'another process' : 'nothing'} listening on ${port} after ${timeoutMs} ms${child ? `:\n${child.stderr()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a child that listens on `count` ports it is told (`start(ports)`), and waits until it
 * listens on every one of them itself. A port taken between freePort and the child's bind
 * (EADDRINUSE, seen once in session 9) starts it again on fresh ports, up to `attempts` times.
 * `first`: the ports of the first attempt (picked by freePort earlier), if any.
 */
export async function startListening<C extends Child>(
  count: number,
  start: (ports: number[]) => C,
  opts: { timeoutMs?: number; attempts?: number; first?: number[] } = {},
): Promise<{ child: C; ports: number[] }> {
  const attempts = opts.attempts ?? 5;
  for (let attempt = 1; ; attempt++) {
    const ports: number[] = attempt === 1 && opts.first ? [...opts.first] : [];
    while (ports.length < count) {
      const p = await freePort();
      if (!ports.includes(p)) ports.push(p);
    }
    const child = start(ports);
    try {
      for (const p of ports) await waitForPort(p, opts.timeoutMs ?? 30_000, child);
      return { child, ports };
    } catch (err) {
      await child.stop('SIGKILL');
      if (!(err instanceof PortTakenError) || attempt >= attempts) throw err;
      process.stderr.write(`  port taken before the child bound it (attempt ${attempt}), starting again on fresh ports\n`);
    }
  }
}

export interface Child {
  proc: ChildProcess;
  pid: number;
  stderr(): string;
  exited(): boolean;
  /** Sends `signal` and waits for the exit (SIGKILL after `graceMs`). */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<void>;
}

export function startChild(cmd: string, args: string[], env: Record<string, string> = {}): Child {
  // Only what node needs from our environment: a stray S3_BUCKET or DATA_DIR must not leak in.
  const base: Record<string, string> = {};
  for (const k of ['PATH', 'HOME', 'TMPDIR', 'LANG']) if (process.env[k]) base[k] = process.env[k]!;
  const proc = spawn(cmd, args, { env: { ...base, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  let done = false;
  const exit = new Promise<void>((r) => proc.once('exit', () => ((done = true), r())));
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    if (err.length > 200_000) err = err.slice(-100_000);
  });
  proc.stdout!.on('data', (d: Buffer) => {
    if (process.env.BENCH_VERBOSE) process.stderr.write(d);
  });
  return {
    proc,
    pid: proc.pid!,
    stderr: () => err,
    exited: () => done,
    async stop(signal = 'SIGTERM', graceMs = 15_000) {
      if (done) return;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exit;
      clearTimeout(t);
    },
  };
}

/** Node running TypeScript through tsx, with extra node flags (e.g. --cpu-prof). */
export function startNode(script: string, args: string[], env: Record<string, string>, nodeFlags: string[] = []): Child {
  return startChild(process.execPath, [...nodeFlags, '--import', 'tsx', script, ...args], env);
}

/**
 * --cpu-prof flags when BENCH_CPU_PROF names a folder: profiles go to <folder>/<name>/, one per
 * thread (tsx runs a loader thread; the main thread's is the big one), written at a clean exit.
 */
export function profileFlags(name: string): string[] {
  const dir = process.env.BENCH_CPU_PROF;
  return dir ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, name)}`] : [];
}

export interface ProcStats {
  /** Resident set size now, bytes. */
  rss: number;
  /** Peak resident set size since start or the last resetPeak(), bytes. */
  peakRss: number;
  /** User + system CPU seconds so far. */
  cpuSec: number;
  /** Of which in the kernel (system time). */
  sysSec: number;
}

/** Reads /proc/<pid>: Linux only (the bench machine). */
export function procStats(pid: number): ProcStats {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? 0) * 1024;
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15 of stat)
  return { rss: kb('VmRSS'), peakRss: kb('VmHWM'), cpuSec: ticks / 100, sysSec: Number(fields[12]) / 100 };
}

/** Resets VmHWM to the current RSS (Linux ≥ 4.0: write 5 to clear_refs). False if not allowed. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Samples RSS every `everyMs` as a fallback for kernels that do not reset VmHWM. */
export function sampleRss(pid: number, everyMs = 5): { stop(): number } {
  let peak = 0;
  const t = setInterval(() => {
    try {
      peak = Math.max(peak, procStats(pid).rss);
    } catch {
      // exited
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(t);
      return peak;
    },
  };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
