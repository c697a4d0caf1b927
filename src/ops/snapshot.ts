import { statSync } from 'node:fs';
import type { Db } from '../db/open.js';
import type { SweepRecord } from '../db/ops-state.js';
import type { Repository } from '../db/repository.js';
import type { QueueReading } from './queues.js';

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

/** Reads the numbers now, each call. The file sizes are SQLite's; another engine reports zeros there. */
export function opsSnapshots(deps: { db?: Db; repos: Repository; now: () => number }): () => Promise<OpsSnapshot> {
  return async () => {
    const now = deps.now();
    const file = deps.db?.name;
    return {
      at: now,
      queues: await deps.repos.queueReadings(now),
      lastSweep: await deps.repos.opsState.lastSweep(),
      database: { path: file ?? '', bytes: file ? sizeOf(file) : 0, walBytes: file ? sizeOf(`${file}-wal`) : 0 },
    };
  };
}
