import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { gcSummary, threadCpu } from '../../bench/lib/gc.js';

// Issue 19: bench/memory.ts (BENCH_MEMORY_GC_LOG) says how much of the limited heap's rate goes to
// garbage collection from the servers' --trace-gc lines, and what each thread costs from /proc.
describe('the memory bench\'s GC and CPU accounting (bench/lib/gc.ts)', () => {
  it('sums the pauses of a real node --trace-gc by kind, incremental marking steps apart', () => {
    const out = execFileSync(
      process.execPath,
      ['--trace-gc', '--max-semi-space-size=1', '-e', 'let a = []; for (let i = 0; i < 2e6; i++) { a.push({ i }); if (a.length > 3e5) a = []; } globalThis.gc?.(); console.log("done")'],
      { encoding: 'utf8' },
    );
    const lines = out.split('\n');
    const pauses = lines.filter((l) => / ms: (Scavenge|Mark-Compact)/.test(l));
    expect(pauses.length).toBeGreaterThan(3);
    const sums = gcSummary(lines);
    expect(sums.Scavenge!.count).toBe(lines.filter((l) => / ms: Scavenge /.test(l)).length);
    const total = Object.entries(sums).filter(([k]) => k !== 'incremental marking steps').reduce((a, [, v]) => a + v.count, 0);
    expect(total).toBe(pauses.length); // every pause line counted, "done" skipped
    const expectMs = pauses.reduce((a, l) => a + Number(/MB, ([\d.]+) \//.exec(l)![1]), 0);
    expect(Object.entries(sums).filter(([k]) => k !== 'incremental marking steps').reduce((a, [, v]) => a + v.ms, 0)).toBeCloseTo(expectMs, 6);
  });

  it('reads a mark-compact\'s kind and its incremental steps', () => {
    const line =
      '[7837:0x167ed490]      255 ms: Mark-Compact (reduce) 70.6 (103.0) -> 62.5 (96.0) MB, 3.61 / 0.01 ms  (+ 12.9 ms in 70 steps since start of marking, biggest step 6.4 ms, walltime since start of marking 120 ms) (average mu = 1.000, current mu = 1.000) finalize incremental marking via stack guard; GC in old space requested';
    expect(gcSummary([line, 'not a gc line'])).toEqual({ 'Mark-Compact (reduce)': { count: 1, ms: 3.61 }, 'incremental marking steps': { count: 70, ms: 12.9 } });
  });

  it('gives the CPU time of this process\'s threads by name', () => {
    const t0 = threadCpu(process.pid);
    const c0 = process.cpuUsage();
    for (;;) {
      const c = process.cpuUsage(c0);
      if (c.user + c.system >= 300_000) break; // 0.3 s of CPU, however loaded the machine
    }
    const t1 = threadCpu(process.pid);
    const grew = [...t1].reduce((a, [k, v]) => a + v - (t0.get(k) ?? 0), 0);
    expect(grew).toBeGreaterThanOrEqual(0.25);
  });
});
