import { execFileSync } from 'node:child_process';
import { readdirSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { allowedCpus, cpuPlan, flyCpus } from '../../bench/lib/machine.js';
import { startMailhook, stopDnsServer, type RunningMailhook } from '../../bench/lib/mailhook.js';

// Issue 19: bench/memory.ts compares the Dockerfile's flags with Node's default heap. On a machine
// with more cores than the Machine, the default heap's GC helper threads ran on a core the Machine
// does not have and the ratio measured the core count: the bench now runs both servers on the
// Machine's CPUs (fly.toml [[vm]] cpus) and itself on the others.
describe('the Machine shape the memory bench runs the servers in (bench/lib/machine.ts)', () => {
  it("reads [[vm]] cpus from fly.toml, 1 (Fly's default size) when there is none", () => {
    expect(flyCpus('app = "x"\n[env]\n  cpus = 4\n')).toBe(1);
    expect(flyCpus('[[vm]]\n  memory = "1gb"\n  cpus = 2\n\n[[mounts]]\n  source = "d"\n')).toBe(2);
    expect(flyCpus('[[vm]]\n  memory = "256mb"\n\n[[mounts]]\n  cpus = 8\n')).toBe(1); // another table's key
  });

  it('puts the servers on as many cores as the Machine has and the bench on the rest, or nowhere if none is left', () => {
    expect(cpuPlan(1, [0, 1])).toEqual({ servers: '0', bench: '1' });
    expect(cpuPlan(2, [0, 1, 2, 3])).toEqual({ servers: '0,1', bench: '2,3' });
    expect(cpuPlan(1, [2, 5, 6])).toEqual({ servers: '2', bench: '5,6' });
    expect(cpuPlan(2, [0, 1])).toBeNull();
    expect(cpuPlan(1, [0])).toBeNull();
  });

  describe('a built server started on one CPU', () => {
    let mh: RunningMailhook | undefined;
    const OUT = fileURLToPath(new URL('../../dist-test-machine', import.meta.url));
    afterAll(async () => {
      await mh?.stop();
      stopDnsServer();
      rmSync(OUT, { recursive: true, force: true });
    });

    it('runs as node itself (taskset execs it), every thread of it on that CPU', async () => {
      // Its own build folder beside dist/ (build.test.ts's reason): not dist/, which other files may run.
      execFileSync(process.execPath, [fileURLToPath(new URL('../../bin/build.js', import.meta.url)), '--noCheck', '--outDir', OUT], { stdio: 'pipe' });
      const cpu = allowedCpus().at(-1)!;
      mh = await startMailhook('machine-shape', () => undefined, { AUTH_CHECKS: 'false' }, { built: true, cpuList: String(cpu), main: join(OUT, 'main.js') });
      const pid = mh.child.pid;
      expect(readlinkSync(`/proc/${pid}/exe`)).toBe(realpathSync(process.execPath)); // the pid the bench samples is the server's
      const threads = readdirSync(`/proc/${pid}/task`);
      expect(threads.length).toBeGreaterThan(4); // V8's platform workers, libuv's pool: all started pinned
      for (const tid of threads) expect(allowedCpus(`${pid}/task/${tid}`), tid).toEqual([cpu]);
    }, 60_000);
  });
});
