import { join } from 'node:path';
import type { Config } from './config.js';
import type { Repository } from './db/repository.js';
import { lazyPgRepository } from './db/pg/lazy.js';
import { createSqliteRepository } from './db/sqlite-repository.js';
import { openDb, type Db } from './db/open.js';
import { observeCommits } from './db/group-commit.js';
import { createLogger, type Logger } from './log.js';
import { countBlobErrors } from './ops/blob-errors.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import type { BlobStore } from './store/blob-store.js';
import { FsBlobStore } from './store/fs-blob-store.js';
import { withInlineBlobs } from './store/inline-blob-store.js';
import { S3BlobStore } from './store/s3-blob-store.js';

/** What every part of Mailhook needs. Built once in main.ts; tests build their own. */
export interface Deps {
  config: Readonly<Config>;
  /** The SQLite connection, for what only SQLite has (backup, incremental vacuum, its file size); absent on another engine. */
  db?: Db;
  /** Every read and write of rows goes through this (src/db/repository.ts). */
  repos: Repository;
  blobs: BlobStore;
  log: Logger;
  now: () => number;
  /** Prometheus counters and histograms the parts move (src/ops/metrics.ts). */
  metrics: Metrics;
}

export function createDeps(
  config: Readonly<Config>,
  overrides: Partial<Pick<Deps, 'blobs' | 'log' | 'now'>> = {},
): Deps {
  const metrics = createMetrics();
  // DATABASE_URL: PostgreSQL, shared by every node (DESIGN §10); `pg` is loaded only then.
  const db = config.databaseUrl ? undefined : openDb(join(config.dataDir, 'mailhook.db'), config.sqliteCacheMb);
  const repos = db ? createSqliteRepository(db) : lazyPgRepository(config.databaseUrl!);
  if (db) {
    observeCommits(db, (writes, seconds) => {
      metrics.commitBatchSize.observe(writes);
      metrics.commitSeconds.observe(seconds);
    });
  }
  const store = overrides.blobs ?? (config.s3 ? new S3BlobStore(config.s3) : new FsBlobStore(join(config.dataDir, 'blobs')));
  return {
    config,
    db,
    repos,
    // Small blobs live in the database, the rest in `store`: every reader goes through this one.
    blobs: withInlineBlobs(repos.blobs, countBlobErrors(store, (op) => metrics.blobErrors.inc({ op }))),
    metrics,
    log: overrides.log ?? createLogger(config.logLevel),
    now: overrides.now ?? Date.now,
  };
}
