import { statSync } from 'node:fs';
import type { Db } from '../db/open.js';
import type { SweepRecord } from '../db/ops-state.js';
import type { Repos } from '../db/index.js';
import { queueReaders, type QueueReading } from './queues.js';

/** What an operator checks first: the same numbers for GET /metrics and `mailhook status`. */
export interface OpsSnapshot {
  at: number;
  queues: QueueReading[];
  lastSweep: SweepRecord | null;
  database: { path: string; bytes: number; walBytes: number };
}

const sizeOf = (file: string) => {
  try {
    return statSync(file).size;
  } catch {
    return 0; // no WAL file right after a clean close
  }
};

/** Prepares the queries once; each call reads them now. */
export function opsSnapshots(deps: { db: Db; repos: Repos; now: () => number }): () => OpsSnapshot {
  const readers = queueReaders(deps.db);
  return () => {
    const now = deps.now();
    return {
      at: now,
      queues: readers.map((read) => read(now)),
      lastSweep: deps.repos.opsState.lastSweep(),
      database: { path: deps.db.name, bytes: sizeOf(deps.db.name), walBytes: sizeOf(`${deps.db.name}-wal`) },
    };
  };
}
