/**
 * What garbage collection and each thread cost a server (bench/memory.ts, issue #19): sums of
 * V8's `--trace-gc` lines, and CPU time by thread name from /proc. Reads text and /proc only.
 */
import { readdirSync, readFileSync } from 'node:fs';

export type GcSums = Record<string, { count: number; ms: number }>;

/**
 * Sums of `--trace-gc` lines: count and main-thread pause (ms) by kind ("Scavenge",
 * "Mark-Compact", "Mark-Compact (reduce)", …), plus "incremental marking steps": the steps a
 * mark-compact reports ("+ 12.9 ms in 70 steps since start of marking"), main-thread time
 * outside its final pause. Other lines are skipped.
 */
export function gcSummary(lines: string[]): GcSums {
  const out: GcSums = {};
  const add = (kind: string, count: number, ms: number) => {
    const e = (out[kind] ??= { count: 0, ms: 0 });
    e.count += count;
    e.ms += ms;
  };
  for (const l of lines) {
    const m = / ms: (.+?) [\d.]+ \([\d.]+\) -> [\d.]+ \([\d.]+\) MB, (?:pooled: [\d.]+ MB, )?([\d.]+) \/ [\d.]+ ms/.exec(l);
    if (!m) continue;
    add(m[1]!.trim(), 1, Number(m[2]));
    const steps = /\+ ([\d.]+) ms in (\d+) steps/.exec(l);
    if (steps) add('incremental marking steps', Number(steps[2]), Number(steps[1]));
  }
  return out;
}

/** CPU seconds (user + system) of each thread of `pid` so far, summed by thread name. Linux (/proc). */
export function threadCpu(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // utime and stime (fields 14 and 15 of stat, 12 and 13 after the name) in clock ticks (100 a second on Linux)
      out.set(name, (out.get(name) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
