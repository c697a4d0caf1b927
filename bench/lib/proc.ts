import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { join } from 'node:path';

/** A free TCP port on 127.0.0.1 (closed again at once: a tiny race, fine on a bench machine). */
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

/** Resolves once something accepts connections on `port`. */
export async function waitForPort(port: number, timeoutMs = 30_000, child?: Child): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exited()) throw new Error(`process exited before listening on ${port}:\n${child.stderr()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`nothing listening on ${port} after ${timeoutMs} ms${child ? `:\n${child.stderr()}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
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
