/**
 * The deployed Machine as the deployment files describe it, for the benches that measure it
 * (bench/memory.ts): the Dockerfile CMD's node flags, fly.toml's memory [env] and [[vm]] CPUs,
 * and where to run a server so it gets the Machine's CPUs and no more. Reads files and /proc only.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const read = (file: string) => readFileSync(fileURLToPath(new URL(`../../${file}`, import.meta.url)), 'utf8');

/** The node flags of the Dockerfile's CMD: what a deployed Machine runs with. */
export function dockerNodeFlags(dockerfile = read('Dockerfile')): string[] {
  const cmd = JSON.parse(/^CMD (\[.*\])$/m.exec(dockerfile)![1]!) as string[];
  return cmd.filter((a) => a.startsWith('--'));
}

/**
 * The memory settings fly.toml's [env] gives the Machine (SQLITE_CACHE_MB, SPOOL_MEMORY_BYTES):
 * the limited run gets them too, so it runs as deployed.
 */
export function flyMemoryEnv(toml = read('fly.toml')): Record<string, string> {
  return Object.fromEntries([...toml.matchAll(/^\s*(SQLITE_CACHE_MB|SPOOL_MEMORY_BYTES)\s*=\s*"(\d+)"/gm)].map((m) => [m[1]!, m[2]!]));
}

/** fly.toml's [[vm]] `cpus`: the vCPUs of the Machine (1 when unset: Fly's default size, shared-cpu-1x). */
export function flyCpus(toml = read('fly.toml')): number {
  const vm = /^\[\[vm\]\]\n((?:(?!\s*\[).*(?:\n|$))*)/m.exec(toml)?.[1] ?? '';
  return Number(/^\s*cpus\s*=\s*(\d+)/m.exec(vm)?.[1] ?? 1);
}

/**
 * The CPUs a process (or thread) may run on, from the Cpus_allowed_list of /proc/<proc>/status
 * (e.g. "0-1,4"); `proc` is "self", a pid or "<pid>/task/<tid>".
 */
export function allowedCpus(proc: number | string = 'self'): number[] {
  const list = /^Cpus_allowed_list:\s*(\S+)/m.exec(readFileSync(`/proc/${proc}/status`, 'utf8'))?.[1] ?? '';
  return list.split(',').flatMap((range) => {
    const [a, b = a] = range.split('-').map(Number) as [number, number?];
    return Array.from({ length: b - a + 1 }, (_, i) => a + i);
  });
}

/**
 * Where the parts of a bench run: the servers on the first `machineCpus` of `allowed` (the Machine's
 * shape: V8's GC helper threads and libuv's pool share those cores with the event loop, as on the
 * Machine), the bench itself (SMTP clients, webhook receivers, DNS) on the rest, so it takes nothing
 * from the servers. Null when no core would be left for the bench. `taskset -c` lists.
 */
export function cpuPlan(machineCpus: number, allowed: number[]): { servers: string; bench: string } | null {
  if (allowed.length <= machineCpus) return null;
  return { servers: allowed.slice(0, machineCpus).join(','), bench: allowed.slice(machineCpus).join(',') };
}
