import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest file (three minutes, mostly waiting on a receiver that answers after a second and
 * on a 30 s retry) starts first, so the other workers get through the rest meanwhile. Vitest
 * orders by the durations it cached on an earlier run, and a clean clone (CI) has none.
 */
const LONGEST_FIRST = ['test/e2e/nodes-sigkill.test.ts'];
class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files);
    const first = (f: TestSpecification) => LONGEST_FIRST.some((path) => f.moduleId.endsWith(path));
    return [...sorted.filter(first), ...sorted.filter((f) => !first(f))];
  }
}

/** The suites that run on PostgreSQL as well (issue 15): the same files, another engine, not a copy. */
const ON_POSTGRES = ['test/api/**/*.test.ts', 'test/e2e/corpus.test.ts', 'test/deliver/**/*.test.ts'];
/**
 * Files that bound how long the event loop may stall under an attack they make (issue 14): run
 * last, one at a time, with no other test file sharing the two cores, so that the bound measures
 * the server and not the neighbours (a project of one worker is its own group, after the others).
 */
const ALONE = ['test/hostile/parse-event-loop-stall.test.ts', 'test/hostile/auth-event-loop-stall.test.ts', 'test/hostile/send-dsn-event-loop-stall.test.ts'];

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
    // Most test files wait (on servers, timers, child processes, fsync) far more than they compute:
    // vitest's default of one worker per core less one is a single worker on a 2-core machine, and
    // the suite then used a third of the CPU. Three files at a time; VITEST_MAX_WORKERS overrides.
    maxWorkers: Number(process.env.VITEST_MAX_WORKERS ?? 3),
    sequence: { sequencer: LongestFirst },
    // CI also keeps a machine-readable summary, which .ci/run prints as one closing line.
    reporters: process.env.CI ? ['default', ['json', { outputFile: 'test-results/vitest.json' }]] : ['default'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ['test/**/*.test.ts'], exclude: ALONE } },
      { extends: true, test: { name: 'alone', include: ALONE, maxWorkers: 1 } },
      {
        extends: true,
        test: {
          name: 'postgres',
          include: ON_POSTGRES,
          env: { MAILHOOK_TEST_ENGINE: 'postgres' },
          // One throwaway cluster and one s3rver for the whole project, not one per file.
          globalSetup: ['test/helpers/pg-global-setup.ts'],
        },
      },
    ],
  },
});
