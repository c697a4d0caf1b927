import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.js';
import { createDeps, type Deps } from '../../src/deps.js';
import { benchDir, benchEnv } from './mailhook.js';
import { startListening, startNode } from './proc.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface RunningNode {
  smtpPort: number;
  httpPort: number;
  stop(): Promise<void>;
}

/**
 * Seeds the shared database once through `seed`, then starts `count` Mailhook processes on it
 * (`shared` holds DATABASE_URL and the S3_* of the bucket), each with its own ports and DATA_DIR.
 */
export async function startPgNodes(count: number, shared: Record<string, string>, seed: (deps: Deps) => unknown): Promise<RunningNode[]> {
  const seedDir = benchDir('nodes-seed');
  const deps = await createDeps(loadConfig(benchEnv({ ...shared, DATA_DIR: seedDir })));
  try {
    await seed(deps);
  } finally {
    await deps.repos.close();
    rmSync(seedDir, { recursive: true, force: true });
  }
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const dataDir = benchDir(`node${i}`);
      const {
        child,
        ports: [smtpPort, httpPort],
      } = await startListening(
        2,
        ([smtp, http]) => {
          const env = benchEnv({ ...shared, DATA_DIR: dataDir, SMTP_PORT: String(smtp), HTTP_PORT: String(http), PUBLIC_URL: `http://127.0.0.1:${http}` });
          // The bench's s3rver takes its fixed account (test/helpers/s3-server.ts sets it in this process).
          return startNode(MAIN, [], { ...env, AWS_ACCESS_KEY_ID: process.env.AWS_ACCESS_KEY_ID ?? '', AWS_SECRET_ACCESS_KEY: process.env.AWS_SECRET_ACCESS_KEY ?? '' });
        },
        { timeoutMs: 60_000 },
      );
      return {
        smtpPort: smtpPort!,
        httpPort: httpPort!,
        async stop() {
          await child.stop('SIGTERM');
          rmSync(dataDir, { recursive: true, force: true });
        },
      };
    }),
  );
}
