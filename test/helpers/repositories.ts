import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDb } from '../../src/db/open.js';
import { lazyPgRepository } from '../../src/db/pg/lazy.js';
import type { Repository } from '../../src/db/repository.js';
import { createSqliteRepository } from '../../src/db/sqlite-repository.js';
import { startPgCluster, type PgCluster } from './pg-cluster.js';

export type Engine = 'sqlite' | 'postgres';
export const ENGINES: Engine[] = ['sqlite', 'postgres'];

let cluster: Promise<PgCluster> | undefined;

/** This test file's PostgreSQL cluster, started on first use and stopped when the process exits. */
export function pgCluster(): Promise<PgCluster> {
  cluster ??= startPgCluster();
  return cluster;
}

/** Stops this file's cluster, if one was started: call it in the file's afterAll. */
export async function stopPgCluster(): Promise<void> {
  const c = cluster;
  cluster = undefined;
  if (c) (await c).stop();
}

/** A fresh, empty repository of `engine`: a new SQLite file, or a new database in this file's cluster. */
export async function openRepository(engine: Engine): Promise<{ repo: Repository; url?: string; close(): Promise<void> }> {
  if (engine === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'mailhook-repo-'));
    const repo = createSqliteRepository(openDb(join(dir, 'mailhook.db')));
    return {
      repo,
      async close() {
        await repo.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const url = await (await pgCluster()).createDatabase('contract');
  // The repository createDeps builds: `pg` loaded, pool opened and schema migrated behind every call.
  const repo = lazyPgRepository(url);
  await repo.ready;
  return { repo, url, close: () => repo.close() };
}
